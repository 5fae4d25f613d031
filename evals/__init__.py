"""Evaluation of the coding agent.

    suite = evals.suites.load_suite("rules")  # codiesp-d, codiesp-p, desc2code, a .jsonl
    summary = evals.runner.run_suite(suite, agent, out_dir)  # run.json, cases.jsonl
    evals.report.render_html(out_dir)  # report.html with figures

Scores come from evals.scoring (pure functions over the case records of a run)."""
