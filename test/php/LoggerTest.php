<?php

declare(strict_types=1);

namespace LambdaRuntime\Tests;

use LambdaRuntime\Logger;
use PHPUnit\Framework\TestCase;

final class LoggerTest extends TestCase
{
    /** 2024-01-02T03:04:05.678Z */
    private const NOW = 1704164645.678;

    /** @var resource */
    private $stream;

    protected function setUp(): void
    {
        $this->stream = fopen('php://memory', 'w+b');
    }

    private function logger(bool $json = false, string $level = 'TRACE'): Logger
    {
        return new Logger($this->stream, $json, $level, static fn (): float => self::NOW);
    }

    private function output(): string
    {
        rewind($this->stream);

        return (string) stream_get_contents($this->stream);
    }

    /** @return list<array<string, mixed>> */
    private function jsonRecords(): array
    {
        $lines = explode("\n", rtrim($this->output(), "\n"));

        return array_map(static fn (string $line): array => json_decode($line, true, 512, JSON_THROW_ON_ERROR), $lines);
    }

    public function testTextRecordFields(): void
    {
        $logger = $this->logger();
        $logger->setInvocation('req-1');

        $logger->info('hello');

        $this->assertSame("2024-01-02T03:04:05.678Z\treq-1\tINFO\thello\n", $this->output());
    }

    public function testTextRecordBeforeInvocation(): void
    {
        $this->logger()->warn('starting');

        $this->assertSame("2024-01-02T03:04:05.678Z\t-\tWARN\tstarting\n", $this->output());
    }

    public function testTextMultiLineStaysOneRecord(): void
    {
        $logger = $this->logger();
        $logger->setInvocation('req-1');

        $logger->error("first\nsecond\r\nthird");

        $output = $this->output();
        $this->assertSame(1, substr_count($output, "\n"), 'one line feed, at the end');
        $this->assertStringEndsWith("\tERROR\tfirst\rsecond\rthird\n", $output);
    }

    public function testTextContextAppendedAsJson(): void
    {
        $this->logger()->info('order stored', ['orderId' => 7, 'path' => '/a/b']);

        $this->assertStringEndsWith("\tINFO\torder stored {\"orderId\":7,\"path\":\"/a/b\"}\n", $this->output());
    }

    public function testJsonRecordFields(): void
    {
        $logger = $this->logger(json: true);
        $logger->setInvocation('req-2', 'tenant-9');

        $logger->debug('hello', ['userId' => 'u1']);

        $this->assertSame([[
            'timestamp' => '2024-01-02T03:04:05.678Z',
            'level' => 'DEBUG',
            'requestId' => 'req-2',
            'tenantId' => 'tenant-9',
            'message' => 'hello',
            'userId' => 'u1',
        ]], $this->jsonRecords());
    }

    public function testJsonOmitsMissingIds(): void
    {
        $this->logger(json: true)->info('init');

        $record = $this->jsonRecords()[0];
        $this->assertArrayNotHasKey('requestId', $record);
        $this->assertArrayNotHasKey('tenantId', $record);
    }

    public function testJsonContextCannotReplaceFields(): void
    {
        $logger = $this->logger(json: true);
        $logger->setInvocation('req-3');

        $logger->info('real', ['level' => 'FATAL', 'requestId' => 'fake', 'message' => 'fake']);

        $record = $this->jsonRecords()[0];
        $this->assertSame('INFO', $record['level']);
        $this->assertSame('req-3', $record['requestId']);
        $this->assertSame('real', $record['message']);
    }

    public function testJsonMultiLineIsOneLine(): void
    {
        $this->logger(json: true)->info("a\nb");

        $this->assertSame(1, substr_count($this->output(), "\n"));
        $this->assertSame("a\nb", $this->jsonRecords()[0]['message']);
    }

    public function testJsonInvalidUtf8StaysValid(): void
    {
        $this->logger(json: true)->info("bad \xff\xfe bytes", ['raw' => "\xc3"]);

        $record = $this->jsonRecords()[0];
        $this->assertSame("bad \u{FFFD}\u{FFFD} bytes", $record['message']);
        $this->assertSame("\u{FFFD}", $record['raw']);
    }

    public function testJsonUnencodableContextValue(): void
    {
        $this->logger(json: true)->info('partial', ['ratio' => INF, 'ok' => 1]);

        $record = $this->jsonRecords()[0];
        $this->assertSame('partial', $record['message']);
        $this->assertSame(1, $record['ok']);
    }

    public function testLevelFilterDropsLowerLevels(): void
    {
        $logger = $this->logger(level: 'WARN');

        $logger->trace('t');
        $logger->debug('d');
        $logger->info('i');
        $logger->warn('w');
        $logger->error('e');
        $logger->fatal('f');

        $levels = array_map(
            static fn (string $line): string => explode("\t", $line)[2],
            explode("\n", rtrim($this->output(), "\n")),
        );
        $this->assertSame(['WARN', 'ERROR', 'FATAL'], $levels);
    }

    public function testEnvironmentSelectsJsonAndLevel(): void
    {
        $logger = Logger::fromEnvironment(['AWS_LAMBDA_LOG_FORMAT' => 'json', 'AWS_LAMBDA_LOG_LEVEL' => 'error'], $this->stream);

        $logger->warn('dropped');
        $logger->error('kept');

        $this->assertTrue($logger->isJson());
        $records = $this->jsonRecords();
        $this->assertCount(1, $records);
        $this->assertSame('kept', $records[0]['message']);
    }

    public function testEnvironmentUnknownLevelWarns(): void
    {
        $logger = Logger::fromEnvironment(['AWS_LAMBDA_LOG_LEVEL' => 'LOUD'], $this->stream);
        $logger->trace('still logged');

        $output = $this->output();
        $this->assertStringContainsString('Invalid AWS_LAMBDA_LOG_LEVEL=LOUD: use one of TRACE', $output);
        $this->assertStringContainsString("\tTRACE\tstill logged", $output);
    }

    public function testErrorPayloadText(): void
    {
        $logger = $this->logger();
        $logger->setInvocation('req-4');

        $logger->logErrorPayload('ERROR', 'Invoke Error: E: boom', [
            'errorType' => 'E',
            'errorMessage' => 'boom',
            'stackTrace' => ['#0 a.php(1): f()', '#1 {main}'],
        ]);

        $this->assertStringEndsWith("\treq-4\tERROR\tInvoke Error: E: boom\r#0 a.php(1): f()\r#1 {main}\n", $this->output());
    }

    public function testErrorPayloadJson(): void
    {
        $logger = $this->logger(json: true);

        $logger->logErrorPayload('ERROR', 'Invoke Error: E: boom', [
            'errorType' => 'E',
            'errorMessage' => 'boom',
            'stackTrace' => ['#0 {main}'],
        ]);

        $record = $this->jsonRecords()[0];
        $this->assertSame('E', $record['errorType']);
        $this->assertSame('boom', $record['errorMessage']);
        $this->assertSame(['#0 {main}'], $record['stackTrace']);
    }

    public function testUnknownLevelRejected(): void
    {
        $this->expectException(\InvalidArgumentException::class);
        $this->expectExceptionMessage('Invalid log level VERBOSE: use one of TRACE');

        new Logger($this->stream, false, 'VERBOSE');
    }
}
