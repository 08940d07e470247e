"""Training algorithms (A2D and baselines, V-MAIL) and their infrastructure."""
