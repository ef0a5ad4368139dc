"""moto's server, with conditional writes made atomic as they are in AWS.

moto checks an S3 `If-Match` / `If-None-Match` precondition and then stores the object in two
steps on a threaded server, and does the same for DynamoDB condition expressions, so two
concurrent conditional writes can both succeed where AWS lets exactly one through. Pulse's
exactly-once guarantees rest on those conditions, and its tests check them under concurrency, so
this launcher serialises the few write handlers involved (reads and SQS long polls stay
concurrent) and then runs moto's own `moto_server` entry point with the given arguments.

It also keeps scheduled rules out of event delivery: moto hands every S3 EventBridge
notification to every rule of every bus, and a scheduled rule (no event pattern) matches them
all, so each stack's digest schedules would forward S3 events to its notifier queue. In AWS a
scheduled rule fires only on its schedule. And it reports a bucket's EventBridge notification
setting, which moto applies but leaves out of GetBucketNotificationConfiguration. And a
function's PutFunctionEventInvokeConfig replaces its configuration, as in AWS (moto appends each
one and GetFunctionEventInvokeConfig keeps answering the first). And GetBucketVersioning answers
with S3's `<VersioningConfiguration>` root (moto 5.2.5 names it `<GetBucketVersioningResponse>`,
which strict SDKs such as Rust's refuse). And UpdateFunctionConfiguration applies `TracingConfig`
(moto 5.2.5 takes it only at CreateFunction and ignores it in an update).
"""

import sys
import threading

import moto.dynamodb.responses as dynamodb
import moto.events.models as events
import moto.awslambda.models as awslambda
import moto.s3.responses as s3
from moto.server import main

_write_lock = threading.RLock()


def _atomic(handler):
    def locked(*args, **kwargs):
        with _write_lock:
            return handler(*args, **kwargs)

    locked.__name__ = handler.__name__
    return locked


s3.S3Response.put_object = _atomic(s3.S3Response.put_object)
s3.S3Response.delete_object = _atomic(s3.S3Response.delete_object)
for name in ("put_item", "update_item", "delete_item", "transact_write_items"):
    setattr(dynamodb.DynamoHandler, name, _atomic(getattr(dynamodb.DynamoHandler, name)))

_send_to_targets = events.Rule.send_to_targets


def _send_unless_scheduled(rule, event, *args, **kwargs):
    if rule.scheduled_expression and not rule.event_pattern.get_pattern():
        return None
    return _send_to_targets(rule, event, *args, **kwargs)


events.Rule.send_to_targets = _send_unless_scheduled

_get_bucket_notification = s3.S3Response.get_bucket_notification


def _get_bucket_notification_with_eventbridge(self):
    config = self.backend.get_bucket_notification_configuration(self.bucket_name)
    if config is None or config.event_bridge is None:
        return _get_bucket_notification(self)
    serialized = self.serialized

    def with_eventbridge(action_result):
        if isinstance(action_result.result, dict):
            action_result.result["EventBridgeConfiguration"] = {}
        return serialized(action_result)

    self.serialized = with_eventbridge
    try:
        return _get_bucket_notification(self)
    finally:
        del self.serialized


s3.S3Response.get_bucket_notification = _get_bucket_notification_with_eventbridge


def _get_bucket_versioning(self):
    status = self.backend.get_bucket_versioning(self.bucket_name)
    inner = f"<Status>{status}</Status>" if status else ""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{inner}</VersioningConfiguration>'
    )
    return 200, {"Content-Type": "application/xml"}, body


s3.S3Response.get_bucket_versioning = _get_bucket_versioning

_put_event_invoke_config = awslambda.LambdaBackend.put_function_event_invoke_config


def _put_event_invoke_config_replacing(self, function_name, config):
    self.get_function(function_name).event_invoke_config = []
    return _put_event_invoke_config(self, function_name, config)


awslambda.LambdaBackend.put_function_event_invoke_config = _put_event_invoke_config_replacing

_update_configuration = awslambda.LambdaFunction.update_configuration


def _update_configuration_with_tracing(self, config_updates):
    if "TracingConfig" in config_updates:
        self.tracing_config = config_updates["TracingConfig"]
    return _update_configuration(self, config_updates)


awslambda.LambdaFunction.update_configuration = _update_configuration_with_tracing

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
