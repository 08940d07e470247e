"""Visual imitation baselines on the same demonstrations as V-MAIL (BC; SQIL and DAC planned)."""
