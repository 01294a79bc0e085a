<?php

declare(strict_types=1);

namespace LambdaRuntime\Tests;

use LambdaRuntime\RuntimeApiClient;
use LambdaRuntime\RuntimeApiException;
use PHPUnit\Framework\TestCase;

final class RuntimeApiClientTest extends TestCase
{
    private const ACCEPTED = ['status' => 202, 'body' => '{"status":"OK"}'];

    public function testNextReturnsEventAndHeaders(): void
    {
        $server = new ScriptedServer([[
            'status' => 200,
            'headers' => ['Lambda-Runtime-Aws-Request-Id' => 'req-1', 'LAMBDA-RUNTIME-DEADLINE-MS' => '123'],
            'body' => '{"a":1}',
        ]]);

        $next = (new RuntimeApiClient($server->address))->nextInvocation();

        $this->assertSame(200, $next->status);
        $this->assertSame('{"a":1}', $next->body);
        $this->assertSame('req-1', $next->header('lambda-runtime-aws-request-id'));
        $this->assertSame('123', $next->header('Lambda-Runtime-Deadline-Ms'), 'header names match in any case');
        $this->assertSame('GET', $server->requests()[0]['method']);
        $this->assertSame('/2018-06-01/runtime/invocation/next', $server->requests()[0]['path']);
    }

    public function testHeadersOnlyFromFinalResponse(): void
    {
        $server = new ScriptedServer([[
            'raw' => "HTTP/1.1 100 Continue\r\nLambda-Runtime-Trace-Id: from-interim\r\n\r\n"
                . "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: req-2\r\nContent-Length: 2\r\n\r\n{}",
        ]]);

        $next = (new RuntimeApiClient($server->address))->nextInvocation();

        $this->assertSame('req-2', $next->header('Lambda-Runtime-Aws-Request-Id'));
        $this->assertNull($next->header('Lambda-Runtime-Trace-Id'));
    }

    public function testConnectionReused(): void
    {
        $server = new ScriptedServer([
            ['status' => 200, 'headers' => ['Lambda-Runtime-Aws-Request-Id' => 'r1'], 'body' => '{}'],
            self::ACCEPTED,
            ['status' => 200, 'headers' => ['Lambda-Runtime-Aws-Request-Id' => 'r2'], 'body' => '{}'],
            self::ACCEPTED,
        ]);
        $client = new RuntimeApiClient($server->address);

        $client->nextInvocation();
        $client->postResponse('r1', '1');
        $client->nextInvocation();
        $client->postInvocationError('r2', 'E', '{}');

        $this->assertSame([1, 1, 1, 1], array_column($server->requests(), 'connection'));
    }

    public function testPostResponseRequest(): void
    {
        $server = new ScriptedServer([self::ACCEPTED]);

        $response = (new RuntimeApiClient($server->address))->postResponse('id/with space', '{"ok":true}');

        $request = $server->requests()[0];
        $this->assertSame(202, $response->status);
        $this->assertSame('POST', $request['method']);
        $this->assertSame('/2018-06-01/runtime/invocation/id%2Fwith%20space/response', $request['path']);
        $this->assertSame('{"ok":true}', $request['body']);
        $this->assertSame('application/json', $request['headers']['content-type']);
        $this->assertArrayNotHasKey('expect', $request['headers']);
    }

    public function testLargeBodySentWithoutExpect(): void
    {
        $server = new ScriptedServer([self::ACCEPTED]);
        $body = str_repeat('x', 2 * 1024 * 1024);

        (new RuntimeApiClient($server->address))->postResponse('r', $body);

        $request = $server->requests()[0];
        $this->assertSame(strlen($body), strlen($request['body']));
        $this->assertArrayNotHasKey('expect', $request['headers']);
    }

    public function testPostInvocationErrorRequest(): void
    {
        $server = new ScriptedServer([self::ACCEPTED]);

        (new RuntimeApiClient($server->address))->postInvocationError('r9', "App\\Fehler\u{00DC}", '{"errorType":"x"}');

        $request = $server->requests()[0];
        $this->assertSame('/2018-06-01/runtime/invocation/r9/error', $request['path']);
        $this->assertSame('application/vnd.aws.lambda.error+json', $request['headers']['content-type']);
        $this->assertSame('App\\Fehler%C3%9C', $request['headers']['lambda-runtime-function-error-type']);
        $this->assertSame('{"errorType":"x"}', $request['body']);
    }

    public function testPostInitErrorRequest(): void
    {
        $server = new ScriptedServer([self::ACCEPTED]);

        (new RuntimeApiClient($server->address))->postInitError('Runtime.HandlerNotFound', '{}');

        $request = $server->requests()[0];
        $this->assertSame('/2018-06-01/runtime/init/error', $request['path']);
        $this->assertSame('Runtime.HandlerNotFound', $request['headers']['lambda-runtime-function-error-type']);
    }

    public function testNonSuccessStatusReturned(): void
    {
        $server = new ScriptedServer([['status' => 413, 'body' => '{"errorType":"RequestEntityTooLarge"}']]);

        $response = (new RuntimeApiClient($server->address))->postResponse('r', '1');

        $this->assertSame(413, $response->status);
        $this->assertSame('{"errorType":"RequestEntityTooLarge"}', $response->body);
    }

    public function testSlowNextHasNoTotalTimeout(): void
    {
        // Longer than the 1 s connect timeout, which must not limit the whole request.
        $server = new ScriptedServer([['status' => 200, 'delayMs' => 1500, 'body' => '{"late":true}']]);

        $next = (new RuntimeApiClient($server->address))->nextInvocation();

        $this->assertSame('{"late":true}', $next->body);
    }

    public function testProxyEnvironmentIgnored(): void
    {
        $server = new ScriptedServer([['status' => 200, 'body' => '{}']]);
        putenv('http_proxy=http://127.0.0.1:1');
        putenv('HTTP_PROXY=http://127.0.0.1:1');

        try {
            $next = (new RuntimeApiClient($server->address))->nextInvocation();
        } finally {
            putenv('http_proxy');
            putenv('HTTP_PROXY');
        }

        $this->assertSame(200, $next->status);
    }

    public function testConnectionRefused(): void
    {
        // Find a free port on 127.0.0.1, then close it so nothing listens there.
        $socket = stream_socket_server('tcp://127.0.0.1:0');
        $address = stream_socket_get_name($socket, false);
        fclose($socket);

        $this->expectException(RuntimeApiException::class);
        $this->expectExceptionMessage("GET http://{$address}/2018-06-01/runtime/invocation/next failed");

        (new RuntimeApiClient($address))->nextInvocation();
    }

    public function testEmptyAddressRejected(): void
    {
        $this->expectException(RuntimeApiException::class);
        $this->expectExceptionMessage('AWS_LAMBDA_RUNTIME_API is missing');

        new RuntimeApiClient('');
    }
}
