"""Server reflection that carries the protos' comments, so `grpcurl describe` shows them.

The generated _pb2 modules register their files without source info (protoc drops comments
from the embedded descriptors), and reflection serves what the descriptor pool holds. `make
proto` also writes campaign/v1/source_info.binpb, the same files with their comments; this pool
hands reflection each file with those comments put back. A file whose stored copy does not match
the registered one (a stale generated/ that `make proto-check` would have caught) is served
without comments rather than with comments attached to the wrong elements.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources

from google.protobuf import descriptor, descriptor_pb2, descriptor_pool

SOURCE_INFO_PACKAGE = "campaign.v1"
SOURCE_INFO_FILE = "source_info.binpb"


def stored_comments(
    pool: descriptor_pool.DescriptorPool,
) -> dict[str, descriptor_pb2.SourceCodeInfo]:
    """File name -> its comments, for each stored file that matches the one in `pool`."""
    data = resources.files(SOURCE_INFO_PACKAGE).joinpath(SOURCE_INFO_FILE).read_bytes()
    comments: dict[str, descriptor_pb2.SourceCodeInfo] = {}
    for stored in descriptor_pb2.FileDescriptorSet.FromString(data).file:
        try:
            registered = pool.FindFileByName(stored.name)
        except KeyError:
            continue
        served = descriptor_pb2.FileDescriptorProto()
        registered.CopyToProto(served)
        if _shape(served) == _shape(stored):
            comments[stored.name] = stored.source_code_info
    return comments


def _shape(file: descriptor_pb2.FileDescriptorProto) -> descriptor_pb2.FileDescriptorProto:
    """The file without what only one side has: comments (the stored copy) and the fields'
    json_name (protoc writes it into a descriptor set; the runtime derives it instead)."""
    shape = descriptor_pb2.FileDescriptorProto()
    shape.CopyFrom(file)
    shape.ClearField("source_code_info")
    messages = list(shape.message_type)
    for field in shape.extension:
        field.ClearField("json_name")
    while messages:
        message = messages.pop()
        messages.extend(message.nested_type)
        for field in (*message.field, *message.extension):
            field.ClearField("json_name")
    return shape


class _CommentedFile:
    """A FileDescriptor as reflection uses it (name, dependencies, CopyToProto), comments added."""

    def __init__(
        self, file: descriptor.FileDescriptor, comments: dict[str, descriptor_pb2.SourceCodeInfo]
    ) -> None:
        self._file = file
        self._comments = comments

    @property
    def name(self) -> str:
        return self._file.name

    @property
    def dependencies(self) -> Sequence[_CommentedFile]:
        return [_CommentedFile(d, self._comments) for d in self._file.dependencies]

    def CopyToProto(self, proto: descriptor_pb2.FileDescriptorProto) -> None:
        self._file.CopyToProto(proto)
        info = self._comments.get(self._file.name)
        if info is not None:
            proto.source_code_info.CopyFrom(info)


class CommentedPool:
    """The lookups grpc_reflection makes on its `pool`, answered from the default pool, with
    every file it returns carrying its comments."""

    def __init__(self, pool: descriptor_pool.DescriptorPool | None = None) -> None:
        self._pool = pool or descriptor_pool.Default()
        self._comments = stored_comments(self._pool)

    @property
    def commented_files(self) -> frozenset[str]:
        return frozenset(self._comments)

    def FindFileByName(self, name: str) -> _CommentedFile:
        return _CommentedFile(self._pool.FindFileByName(name), self._comments)

    def FindFileContainingSymbol(self, symbol: str) -> _CommentedFile:
        return _CommentedFile(self._pool.FindFileContainingSymbol(symbol), self._comments)

    def FindMessageTypeByName(self, name: str) -> descriptor.Descriptor:
        return self._pool.FindMessageTypeByName(name)

    def FindExtensionByNumber(
        self, message: descriptor.Descriptor, number: int
    ) -> descriptor.FieldDescriptor:
        return self._pool.FindExtensionByNumber(message, number)

    def FindAllExtensions(self, message: descriptor.Descriptor) -> list[descriptor.FieldDescriptor]:
        return self._pool.FindAllExtensions(message)
