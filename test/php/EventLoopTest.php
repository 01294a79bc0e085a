<?php

declare(strict_types=1);

namespace LambdaRuntime\Tests;

use LambdaRuntime\Context;
use LambdaRuntime\EventLoop;
use LambdaRuntime\HandlerResolver;
use LambdaRuntime\Logger;
use LambdaRuntime\RuntimeApiClient;
use LambdaRuntime\RuntimeError;
use PHPUnit\Framework\TestCase;

/**
 * The loop against a scripted Runtime API. Fatal errors, exit() and init errors end the PHP
 * process, so the jest tests cover them with real bootstrap runs.
 */
final class EventLoopTest extends TestCase
{
    private const ACCEPTED = ['status' => 202, 'body' => '{"status":"OK"}'];

    private const SERVER_ERROR = ['status' => 500, 'body' => '{"errorMessage":"Internal Server Error","errorType":"InternalServerError"}'];

    /** @var resource */
    private $logStream;

    protected function setUp(): void
    {
        $this->logStream = fopen('php://memory', 'w+b');
    }

    protected function tearDown(): void
    {
        EventLoop::setTraceId(null);
    }

    /** @param array<string, string> $headers */
    private static function event(string $requestId, string $body, array $headers = []): array
    {
        return ['status' => 200, 'headers' => ['Lambda-Runtime-Aws-Request-Id' => $requestId, 'Lambda-Runtime-Deadline-Ms' => '4102444800000'] + $headers, 'body' => $body];
    }

    private function loop(ScriptedServer $server, \Closure $handler, int $maxInvocations = 0): EventLoop
    {
        $loop = new EventLoop(
            new RuntimeApiClient($server->address),
            new Logger($this->logStream),
            new HandlerResolver(sys_get_temp_dir()),
            ['AWS_LAMBDA_FUNCTION_NAME' => 'fn'],
            $maxInvocations,
        );
        $loop->setHandler($handler);

        return $loop;
    }

    private function log(): string
    {
        rewind($this->logStream);

        return (string) stream_get_contents($this->logStream);
    }

    public function testRunPostsResponses(): void
    {
        $server = new ScriptedServer([self::event('r1', '{"n":1}'), self::ACCEPTED, self::event('r2', '{"n":2}'), self::ACCEPTED, self::SERVER_ERROR]);
        $calls = 0;

        $status = $this->loop($server, function (array $event, Context $context) use (&$calls): array {
            $calls++;

            return ['double' => $event['n'] * 2, 'id' => $context->awsRequestId, 'function' => $context->functionName];
        })->run();

        $requests = $server->requests();
        $this->assertSame(EventLoop::EXIT_RUNTIME_API_FAILED, $status);
        $this->assertSame(2, $calls);
        $this->assertSame('/2018-06-01/runtime/invocation/r1/response', $requests[1]['path']);
        $this->assertSame('{"double":2,"id":"r1","function":"fn"}', $requests[1]['body']);
        $this->assertSame('{"double":4,"id":"r2","function":"fn"}', $requests[3]['body']);
    }

    public function testNextServerErrorEndsLoop(): void
    {
        $server = new ScriptedServer([self::SERVER_ERROR]);

        $status = $this->loop($server, fn () => $this->fail('handler must not run'))->run();

        $this->assertSame(EventLoop::EXIT_RUNTIME_API_FAILED, $status);
        $this->assertStringContainsString('FATAL', $this->log());
        $this->assertStringContainsString('GET /runtime/invocation/next returned HTTP 500', $this->log());
    }

    public function testHandlerExceptionPostsError(): void
    {
        $server = new ScriptedServer([self::event('r1', '{}'), self::ACCEPTED, self::SERVER_ERROR]);

        $this->loop($server, function (): never {
            throw new \DomainException("bad\ninput");
        })->run();

        $request = $server->requests()[1];
        $body = json_decode($request['body'], true);
        $this->assertSame('/2018-06-01/runtime/invocation/r1/error', $request['path']);
        $this->assertSame('DomainException', $request['headers']['lambda-runtime-function-error-type']);
        $this->assertSame('DomainException', $body['errorType']);
        $this->assertSame("bad\ninput", $body['errorMessage']);
        $this->assertTrue(array_is_list($body['stackTrace']), 'stackTrace is a JSON array');
        $this->assertStringContainsString("\tr1\tERROR\tInvoke Error: DomainException: bad\rinput\r", $this->log());
    }

    public function testResponseTooLargeLoggedWithoutErrorReport(): void
    {
        $tooLarge = ['status' => 413, 'body' => '{"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).","errorType":"RequestEntityTooLarge"}'];
        $server = new ScriptedServer([self::event('r1', '{}'), $tooLarge, self::event('r2', '{}'), self::ACCEPTED, self::SERVER_ERROR]);

        $this->loop($server, fn () => 'ok')->run();

        $paths = array_column($server->requests(), 'path');
        $this->assertSame([
            '/2018-06-01/runtime/invocation/next',
            '/2018-06-01/runtime/invocation/r1/response',
            '/2018-06-01/runtime/invocation/next',
            '/2018-06-01/runtime/invocation/r2/response',
            '/2018-06-01/runtime/invocation/next',
        ], $paths);
        $this->assertStringContainsString('returned HTTP 413: the response of 4 bytes is over', $this->log());
    }

    /** @return array<string, array{int}> */
    public static function rejectedStatuses(): array
    {
        return ['400' => [400], '403' => [403]];
    }

    /** @dataProvider rejectedStatuses */
    public function testRejectedReportLoggedAndLoopContinues(int $status): void
    {
        $server = new ScriptedServer([self::event('r1', '{}'), ['status' => $status, 'body' => '{"errorType":"Rejected"}'], self::event('r2', '{}'), self::ACCEPTED, self::SERVER_ERROR]);
        $calls = 0;

        $this->loop($server, function () use (&$calls): int {
            return ++$calls;
        })->run();

        $this->assertSame(2, $calls);
        $this->assertStringContainsString("POST /runtime/invocation/r1/response returned HTTP {$status}", $this->log());
    }

    public function testResponseServerErrorEndsLoop(): void
    {
        $server = new ScriptedServer([self::event('r1', '{}'), self::SERVER_ERROR]);

        $status = $this->loop($server, fn () => null)->run();

        $this->assertSame(EventLoop::EXIT_RUNTIME_API_FAILED, $status);
        $this->assertCount(2, $server->requests());
    }

    public function testMaxInvocationsRestarts(): void
    {
        $server = new ScriptedServer([self::event('r1', '{}'), self::ACCEPTED, self::event('r2', '{}'), self::ACCEPTED]);

        $status = $this->loop($server, fn () => null, maxInvocations: 2)->run();

        $this->assertSame(EventLoop::EXIT_RESTART, $status);
        $this->assertCount(4, $server->requests());
    }

    public function testMissingRequestIdEndsLoop(): void
    {
        $server = new ScriptedServer([['status' => 200, 'body' => '{}']]);

        $status = $this->loop($server, fn () => null)->run();

        $this->assertSame(EventLoop::EXIT_RUNTIME_API_FAILED, $status);
        $this->assertStringContainsString('without a Lambda-Runtime-Aws-Request-Id header', $this->log());
    }

    public function testTraceIdFollowsEachEvent(): void
    {
        $server = new ScriptedServer([
            self::event('r1', '{}', ['Lambda-Runtime-Trace-Id' => 'Root=1-aaa']),
            self::ACCEPTED,
            self::event('r2', '{}'),
            self::ACCEPTED,
            self::SERVER_ERROR,
        ]);
        $seen = [];

        $this->loop($server, function () use (&$seen): void {
            $seen[] = [getenv('_X_AMZN_TRACE_ID'), $_SERVER['_X_AMZN_TRACE_ID'] ?? null, $_ENV['_X_AMZN_TRACE_ID'] ?? null];
        })->run();

        $this->assertSame([['Root=1-aaa', 'Root=1-aaa', 'Root=1-aaa'], [false, null, null]], $seen);
    }

    public function testRequestIdOnHandlerLogs(): void
    {
        $server = new ScriptedServer([self::event('r1', '{}'), self::ACCEPTED, self::SERVER_ERROR]);

        $this->loop($server, function ($event, Context $context): void {
            $context->logger->info('from handler');
        })->run();

        $this->assertStringContainsString("\tr1\tINFO\tfrom handler\n", $this->log());
    }

    public function testResultDestroyedBeforeResponse(): void
    {
        $server = new ScriptedServer([self::event('r1', '{}'), self::ACCEPTED, self::SERVER_ERROR]);
        $requestsAtDestruct = null;
        $result = new class ($server, $requestsAtDestruct) implements \JsonSerializable {
            public function __construct(private ScriptedServer $server, private mixed &$seen)
            {
            }

            public function jsonSerialize(): string
            {
                return 'result';
            }

            public function __destruct()
            {
                $this->seen = count($this->server->requests());
            }
        };

        $this->loop($server, function () use (&$result): object {
            $returned = $result;
            $result = null;

            return $returned;
        })->run();

        $this->assertSame(1, $requestsAtDestruct, 'only /next had been sent when the result was destroyed');
        $this->assertSame('"result"', $server->requests()[1]['body']);
    }

    public function testDecodeEvent(): void
    {
        $this->assertSame(['a' => ['b' => [1, 2]]], EventLoop::decodeEvent('{"a":{"b":[1,2]}}'));
        $this->assertSame('text', EventLoop::decodeEvent('"text"'));
        $this->assertNull(EventLoop::decodeEvent(''));
        $this->assertNull(EventLoop::decodeEvent('null'));
    }

    public function testDecodeInvalidEvent(): void
    {
        try {
            EventLoop::decodeEvent('{"a":');
            $this->fail('Expected a RuntimeError');
        } catch (RuntimeError $error) {
            $this->assertSame('Runtime.UnmarshalError', $error->errorType);
            $this->assertStringStartsWith('The event is not valid JSON: Syntax error', $error->getMessage());
        }
    }

    public function testEncodeResponse(): void
    {
        $this->assertSame('null', EventLoop::encodeResponse(null));
        $this->assertSame('{"url":"https://x/y","name":"Zoë","ratio":1.0}', EventLoop::encodeResponse(['url' => 'https://x/y', 'name' => 'Zoë', 'ratio' => 1.0]));
        $this->assertSame('"plain"', EventLoop::encodeResponse('plain'));
    }

    /** @return array<string, array{mixed, string}> */
    public static function unencodableResults(): array
    {
        return [
            'invalid UTF-8' => ["bad \xff", 'Malformed UTF-8'],
            'INF' => [['ratio' => INF], 'Inf and NaN cannot be JSON encoded'],
            'NAN' => [NAN, 'Inf and NaN cannot be JSON encoded'],
            'resource' => [['file' => STDERR], 'Type is not supported'],
        ];
    }

    /** @dataProvider unencodableResults */
    public function testEncodeUnencodable(mixed $result, string $reason): void
    {
        try {
            EventLoop::encodeResponse($result);
            $this->fail('Expected a RuntimeError');
        } catch (RuntimeError $error) {
            $this->assertSame('Runtime.MarshalError', $error->errorType);
            $this->assertStringContainsString($reason, $error->getMessage());
        }
    }

    public function testSetAndClearTraceId(): void
    {
        EventLoop::setTraceId('Root=1-abc;Sampled=1');

        $this->assertSame('Root=1-abc;Sampled=1', getenv('_X_AMZN_TRACE_ID'));
        $this->assertSame('Root=1-abc;Sampled=1', $_SERVER['_X_AMZN_TRACE_ID']);
        $this->assertSame('Root=1-abc;Sampled=1', $_ENV['_X_AMZN_TRACE_ID']);

        EventLoop::setTraceId(null);

        $this->assertFalse(getenv('_X_AMZN_TRACE_ID'));
        $this->assertArrayNotHasKey('_X_AMZN_TRACE_ID', $_SERVER);
        $this->assertArrayNotHasKey('_X_AMZN_TRACE_ID', $_ENV);
    }

    public function testMaxInvocationsSetting(): void
    {
        $logger = new Logger($this->logStream);

        $this->assertSame(25, EventLoop::maxInvocations(['LAMBDA_RUNTIME_MAX_INVOCATIONS' => '25'], $logger));
        $this->assertSame(0, EventLoop::maxInvocations(['LAMBDA_RUNTIME_MAX_INVOCATIONS' => ''], $logger));
        $this->assertSame(0, EventLoop::maxInvocations([], $logger), 'no php.ini setting under PHPUnit');
        $this->assertSame(0, EventLoop::maxInvocations(['LAMBDA_RUNTIME_MAX_INVOCATIONS' => 'ten'], $logger));
        $this->assertStringContainsString("Invalid max invocations 'ten' in LAMBDA_RUNTIME_MAX_INVOCATIONS", $this->log());
    }
}
