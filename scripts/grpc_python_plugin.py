"""A protoc plugin for buf: grpcio-tools' gRPC Python generator on buf's request.

grpcio-tools ships its generator inside its own protoc (`python -m grpc_tools.protoc`), not as a
plugin binary, so this plugin hands the request's descriptors to that protoc and returns what it
wrote.
"""

import os
import subprocess
import sys
import tempfile

from google.protobuf import descriptor_pb2
from google.protobuf.compiler import plugin_pb2


def main() -> None:
    request = plugin_pb2.CodeGeneratorRequest.FromString(sys.stdin.buffer.read())
    response = plugin_pb2.CodeGeneratorResponse(
        supported_features=plugin_pb2.CodeGeneratorResponse.FEATURE_PROTO3_OPTIONAL
    )
    with tempfile.TemporaryDirectory() as work:
        descriptors = os.path.join(work, "descriptors.pb")
        with open(descriptors, "wb") as f:
            f.write(descriptor_pb2.FileDescriptorSet(file=request.proto_file).SerializeToString())
        out = os.path.join(work, "out")
        os.mkdir(out)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "grpc_tools.protoc",
                f"--descriptor_set_in={descriptors}",
                f"--grpc_python_out={out}",
                *request.file_to_generate,
            ],
            check=True,
        )
        for root, _, files in sorted(os.walk(out)):
            for name in sorted(files):
                path = os.path.join(root, name)
                generated = response.file.add()
                generated.name = os.path.relpath(path, out)
                with open(path, encoding="utf-8") as f:
                    generated.content = f.read()
    sys.stdout.buffer.write(response.SerializeToString())


if __name__ == "__main__":
    main()
