<?php

declare(strict_types=1);

namespace LambdaRuntime\Tests;

use LambdaRuntime\ErrorFormatter;
use LambdaRuntime\RuntimeError;
use PHPUnit\Framework\TestCase;

final class ErrorFormatterTest extends TestCase
{
    /** @param class-string<\Throwable> $class */
    private static function failWith(string $class, string $message, string $argument = ''): never
    {
        throw new $class($message);
    }

    /** @param class-string<\Throwable> $class */
    private static function caught(string $class, string $message = 'boom', string $argument = ''): \Throwable
    {
        try {
            self::failWith($class, $message, $argument);
        } catch (\Throwable $caught) {
            return $caught;
        }
    }

    public function testThrowableTypeAndMessage(): void
    {
        $payload = ErrorFormatter::fromThrowable(self::caught(\DomainException::class));

        $this->assertSame('DomainException', $payload['errorType']);
        $this->assertSame('boom', $payload['errorMessage']);
    }

    public function testThrowableStackTrace(): void
    {
        $error = self::caught(\LogicException::class);
        $payload = ErrorFormatter::fromThrowable($error);

        $this->assertSame("thrown in {$error->getFile()} on line {$error->getLine()}", $payload['stackTrace'][0]);
        $this->assertMatchesRegularExpression('/^#0 .+ErrorFormatterTest\.php\(\d+\): LambdaRuntime\\\\Tests\\\\ErrorFormatterTest::failWith\(\)$/', $payload['stackTrace'][1]);
        $this->assertSame('#' . count($error->getTrace()) . ' {main}', end($payload['stackTrace']));
    }

    public function testStackTraceHasNoArguments(): void
    {
        $previous = ini_set('zend.exception_ignore_args', '0');
        try {
            $error = self::caught(\RuntimeException::class, 'x', 'secret-argument');
        } finally {
            ini_set('zend.exception_ignore_args', (string) $previous);
        }

        $this->assertContains('secret-argument', $error->getTrace()[0]['args'] ?? [], 'PHP recorded the argument');
        $payload = ErrorFormatter::fromThrowable($error);
        $this->assertStringNotContainsString('secret-argument', implode("\n", $payload['stackTrace']));
        $this->assertStringEndsWith('::failWith()', $payload['stackTrace'][1]);
    }

    public function testRuntimeErrorUsesErrorType(): void
    {
        $payload = ErrorFormatter::fromThrowable(new RuntimeError(RuntimeError::HANDLER_NOT_FOUND, 'no main()'));

        $this->assertSame('Runtime.HandlerNotFound', $payload['errorType']);
        $this->assertSame('no main()', $payload['errorMessage']);
    }

    public function testPreviousExceptionsListed(): void
    {
        $inner = new \InvalidArgumentException('inner problem');
        $payload = ErrorFormatter::fromThrowable(new \RuntimeException('outer', 0, $inner));

        $this->assertSame(
            "caused by InvalidArgumentException: inner problem, thrown in {$inner->getFile()} on line {$inner->getLine()}",
            end($payload['stackTrace']),
        );
    }

    public function testFatalErrorType(): void
    {
        $payload = ErrorFormatter::fromFatalError(['type' => E_ERROR, 'message' => 'Maximum execution time of 1 second exceeded', 'file' => '/var/task/a.php', 'line' => 3]);

        $this->assertSame('Runtime.FatalError', $payload['errorType']);
        $this->assertSame('Maximum execution time of 1 second exceeded', $payload['errorMessage']);
        $this->assertSame(['in /var/task/a.php on line 3'], $payload['stackTrace']);
    }

    public function testFatalOutOfMemoryType(): void
    {
        $payload = ErrorFormatter::fromFatalError([
            'type' => E_ERROR,
            'message' => 'Allowed memory size of 134217728 bytes exhausted (tried to allocate 4096 bytes)',
            'file' => '/var/task/a.php',
            'line' => 9,
        ]);

        $this->assertSame('Runtime.OutOfMemory', $payload['errorType']);
    }

    public function testEncodeAnyBytesIsValidJson(): void
    {
        $allBytes = implode('', array_map('chr', range(0, 255)));

        $json = ErrorFormatter::encode(['errorType' => "Type\xff", 'errorMessage' => $allBytes, 'stackTrace' => ["\x00\xc3("]]);

        $decoded = json_decode($json, true, 512, JSON_THROW_ON_ERROR);
        $this->assertSame("Type\u{FFFD}", $decoded['errorType']);
        $this->assertStringStartsWith("\x00\x01\x02", $decoded['errorMessage']);
        $this->assertSame(1, preg_match('//u', $json), 'the body is valid UTF-8');
    }

    public function testEncodeKeepsSlashesAndUnicode(): void
    {
        $json = ErrorFormatter::encode(['errorType' => 'E', 'errorMessage' => 'a/b é', 'stackTrace' => []]);

        $this->assertSame('{"errorType":"E","errorMessage":"a/b é","stackTrace":[]}', $json);
    }

    public function testHeaderValueAsciiOnly(): void
    {
        $value = ErrorFormatter::headerValue("App\\Ünicode\r\nX-Injected: 1\x7f");

        $this->assertSame('App\\%C3%9Cnicode%0D%0AX-Injected: 1%7F', $value);
        $this->assertMatchesRegularExpression('/^[\x20-\x7e]*$/', $value);
    }
}
