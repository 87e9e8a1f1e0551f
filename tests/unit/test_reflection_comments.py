"""The reflection pool puts the protos' comments back on the files it serves, for every
campaign/v1 file, and serves a file whose stored copy no longer matches without comments."""

from __future__ import annotations

from pathlib import Path

from campaign.v1 import (  # noqa: F401  (registers every campaign/v1 file in the default pool)
    audience_service_pb2,
    campaign_service_pb2,
    event_service_pb2,
    metrics_service_pb2,
)
from google.protobuf import descriptor, descriptor_pb2, descriptor_pool

from server.reflection_comments import CommentedPool

PROTOS = Path(__file__).resolve().parents[2] / "protos"


def proto_of(file: descriptor.FileDescriptor | object) -> descriptor_pb2.FileDescriptorProto:
    proto = descriptor_pb2.FileDescriptorProto()
    file.CopyToProto(proto)  # type: ignore[attr-defined]
    return proto


def comments_of(proto: descriptor_pb2.FileDescriptorProto) -> list[str]:
    return [loc.leading_comments.strip() for loc in proto.source_code_info.location]


def test_every_campaign_proto_is_served_with_its_comments() -> None:
    expected = {str(p.relative_to(PROTOS)) for p in PROTOS.rglob("*.proto")}

    assert CommentedPool().commented_files == expected


def test_a_symbols_file_and_its_dependencies_carry_comments() -> None:
    file = CommentedPool().FindFileContainingSymbol("campaign.v1.CampaignService")
    dependencies = {d.name: proto_of(d) for d in file.dependencies}

    assert "Manages campaigns, their lifecycle, and the executions and messages they produce." in (
        comments_of(proto_of(file))
    )
    assert "Lifecycle state of an execution." in comments_of(
        dependencies["campaign/v1/execution.proto"]
    )
    assert not comments_of(dependencies["google/protobuf/timestamp.proto"])


def test_a_file_that_differs_from_the_stored_copy_is_served_without_comments() -> None:
    """A stale generated/: comments would land on the wrong elements, so none are attached."""
    default = descriptor_pool.Default()
    pool = descriptor_pool.DescriptorPool()
    event = proto_of(default.FindFileByName("campaign/v1/event.proto"))
    for dependency in event.dependency:
        pool.Add(proto_of(default.FindFileByName(dependency)))
    event.message_type[0].field[0].name = "renamed_id"
    pool.Add(event)

    served = CommentedPool(pool)

    assert "campaign/v1/event.proto" not in served.commented_files
    assert not comments_of(proto_of(served.FindFileByName("campaign/v1/event.proto")))
