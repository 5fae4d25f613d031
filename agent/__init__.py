"""The coding agent: a chart in, validated and cited code proposals out."""
