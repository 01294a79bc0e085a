<?php

// An Amazon API Gateway HTTP API handler (payload format 2.0). _HANDLER=http-api.php: the
// file returns the handler. It handles GET /hello?name=Ada and POST /hello with a JSON body
// {"name": "Ada"}, and returns the proxy response that API Gateway turns into the HTTP reply.

declare(strict_types=1);

use LambdaRuntime\Context;

/** Decodes the request body as JSON. API Gateway base64-encodes bodies it treats as binary. */
function request_json(array $event): array
{
    $body = $event['body'] ?? '';
    if ($event['isBase64Encoded'] ?? false) {
        $body = base64_decode($body, true) ?: '';
    }

    $decoded = json_decode($body, true);
    return is_array($decoded) ? $decoded : [];
}

/** Builds a payload 2.0 proxy response with a JSON body. */
function json_response(int $statusCode, array $body, array $headers = []): array
{
    return [
        'statusCode' => $statusCode,
        'headers' => ['Content-Type' => 'application/json'] + $headers,
        'body' => json_encode($body, JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES),
    ];
}

return static function (array $event, Context $context): array {
    $method = $event['requestContext']['http']['method'] ?? 'GET';
    $path = $event['rawPath'] ?? '/';

    if ($path !== '/hello') {
        return json_response(404, ['error' => "No route for {$path}"]);
    }

    $name = match ($method) {
        'GET' => $event['queryStringParameters']['name'] ?? 'world',
        'POST' => request_json($event)['name'] ?? 'world',
        default => null,
    };
    if ($name === null) {
        return json_response(405, ['error' => "{$method} is not allowed on /hello"], ['Allow' => 'GET, POST']);
    }

    return json_response(200, ['message' => "Hello, {$name}!", 'requestId' => $context->awsRequestId]);
};
