"""Consolidated results for evaluators: XLSX, CSV, JSON and IATI exports, streamed and traceable."""
