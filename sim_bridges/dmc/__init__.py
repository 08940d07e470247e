"""dm_control suite tasks (walker-walk, cheetah-run, cartpole-swingup) behind the asymmetric API."""
