# asymlearn on the official ROS 2 Kilted image (full ROS 2, including `ros2 launch`).
# The project is installed by the same scripts/setup.sh the README uses, so the two cannot drift.
#   docker build -t asymlearn .                          # CPU image
#   docker build -t asymlearn:gpu --build-arg GPU=1 .    # CUDA torch + onnxruntime-gpu for training
# In the container, ROS nodes from the pip wheels (.venv) and from /opt/ros both work; the
# venv is sourced after /opt/ros so the project's pinned rclpy is the one imported.
FROM ros:kilted-ros-base

ARG GPU=0
ENV DEBIAN_FRONTEND=noninteractive \
    MUJOCO_GL=egl \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The ROS 2 pip wheels the project pins are built for Python 3.11, while the Kilted image
# (Ubuntu 24.04) ships 3.12 for /opt/ros; 3.11 comes from the deadsnakes archive. `ros2 launch`
# (system Python) starts the nodes' console scripts, whose shebang is the 3.11 venv.
RUN apt-get update && apt-get install -y --no-install-recommends software-properties-common \
    && add-apt-repository -y ppa:deadsnakes/ppa \
    && apt-get update && apt-get install -y --no-install-recommends \
        python3.11 python3.11-venv git iproute2 util-linux \
        libegl1 libgles2 libgl1 libgl1-mesa-dri \
        ros-kilted-launch-ros \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/asymlearn
COPY . .

# torch==2.13.0 is pinned; outside the project's build machines it comes from PyTorch's
# index: the CPU wheel by default, the CUDA wheel with GPU=1.
RUN if [ "$GPU" = "1" ]; then \
        export PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cu128; \
        bash scripts/setup.sh --gpu; \
    else \
        export PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu; \
        bash scripts/setup.sh; \
    fi

SHELL ["/bin/bash", "-c"]
RUN echo 'source /opt/ros/kilted/setup.bash && source /opt/asymlearn/scripts/env.sh' >> /root/.bashrc
ENTRYPOINT ["/bin/bash", "-lc", "source /opt/ros/kilted/setup.bash && source /opt/asymlearn/scripts/env.sh && exec \"$@\"", "--"]
CMD ["asymlearn", "--help"]
