"""Handlers of the HTTP API test app: each tells the caller what API Gateway sent it."""

import json


def rides(event, context):
    """Payload format 2.0: a GET returns a plain object (API Gateway makes it a 200 JSON body),
    a POST a full response with a status code, a header and a cookie."""
    seen = {
        "version": event["version"],
        "routeKey": event["routeKey"],
        "rawPath": event["rawPath"],
        "pathParameters": event.get("pathParameters"),
        "queryStringParameters": event.get("queryStringParameters"),
        "stage": event["requestContext"]["stage"],
    }
    if event["requestContext"]["http"]["method"] != "POST":
        return seen
    return {
        "statusCode": 201,
        "headers": {"content-type": "application/json", "location": "/rides/r-1"},
        "cookies": ["ride=r-1; Path=/"],
        "body": json.dumps({**seen, "body": json.loads(event["body"])}),
    }


def legacy(event, context):
    """Payload format 1.0: the REST-shaped event, and a response in the 1.0 shape."""
    seen = {
        "version": event["version"],
        "resource": event["resource"],
        "path": event["path"],
        "httpMethod": event["httpMethod"],
        "pathParameters": event["pathParameters"],
    }
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(seen),
    }
