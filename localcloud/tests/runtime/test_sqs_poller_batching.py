"""The SQS poller inside a batching window: messages that trickle in are gathered between
receives, not fetched one ReceiveMessage each (most of a call's cost in localcloud's one server
process is per call, not per message), and none is left out of the batch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from localcloud.tests.runtime.sqs_poller_support import FailingCalls, RecordingInvoker, sqs_poller
from localcloud.tests.runtime.support import Deployer, wait_for

TRICKLE = 100  # messages, sent one at a time as fast as the client goes (a few ms each)


def test_a_trickle_inside_the_window_is_gathered_between_receives(
    deploy: Deployer, aws: Callable[[str], Any]
) -> None:
    queue = deploy.queue(visibility_timeout=30)
    sqs = FailingCalls(aws("sqs"))
    invoker = RecordingInvoker()
    # A window far longer than the trickle: the batch fills up and leaves before it closes, so
    # no receive is cut short by the window's end.
    poller = sqs_poller(queue["arn"], sqs, invoker, batch_size=TRICKLE, window_s=20)
    poller.start()
    sender = aws("sqs")
    try:
        for number in range(TRICKLE):
            sender.send_message(QueueUrl=queue["url"], MessageBody=f"ride-{number}")
        wait_for(lambda: sum(len(e["Records"]) for e in invoker.events) == TRICKLE, timeout=30)
    finally:
        poller.stop()
        poller.join(5)

    bodies = [record["body"] for event in invoker.events for record in event["Records"]]
    assert sorted(bodies) == sorted(f"ride-{number}" for number in range(TRICKLE))
    short_answers = 0
    for answer, following in zip(sqs.receives, sqs.receives[1:], strict=False):
        within_the_window = following.arguments["WaitTimeSeconds"] == 0
        if within_the_window and answer.answered < answer.arguments["MaxNumberOfMessages"]:
            short_answers += 1
            # fewer than asked: the poller let more gather before it asked again
            assert following.made_at - answer.made_at >= 0.1, sqs.receives
    assert short_answers, "the trickle never ran ahead of the poller: nothing was tested"
