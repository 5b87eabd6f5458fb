"""Fax: Class 2 dialogue, session parameters, T.4 pages, hang-up codes and job status."""
