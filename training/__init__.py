"""Training: mining feedback, SFT and preference data, and training policies against the environment."""
