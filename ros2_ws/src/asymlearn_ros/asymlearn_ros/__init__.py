"""ROS 2 I/O for asymlearn; all logic lives in the policies, training and sim_bridges packages."""
