"""Networks, ONNX export with metadata, and the ONNX Runtime policy runner (no ROS needed)."""
