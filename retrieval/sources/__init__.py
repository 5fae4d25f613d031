"""One parser per code-set source; each yields plain records from `retrieval.records`."""
