<?php

declare(strict_types=1);

namespace LambdaRuntime;

/**
 * Writes log records for handlers and for the runtime itself, one line per call, so that
 * CloudWatch stores each call as one record.
 *
 * Text records read `timestamp<TAB>request id<TAB>LEVEL<TAB>message`, with every line break
 * of the message turned into a carriage return: Lambda starts a new CloudWatch record at
 * each "\n" it reads from stdout, not at "\r". AWS's Node.js runtime client writes its
 * stdout records the same way (aws-lambda-nodejs-runtime-interface-client, src/LogPatch.js). With AWS_LAMBDA_LOG_FORMAT=JSON each record is
 * a JSON object with `timestamp`, `level`, `requestId`, `message` (and `tenantId` when the
 * invocation has one), the fields Lambda's log-level filtering reads. AWS_LAMBDA_LOG_LEVEL
 * drops records below its level.
 *
 * Output that handlers write with echo or print bypasses this logger and reaches CloudWatch
 * unchanged, one record per line and without a request id.
 */
final class Logger
{
    /** Levels from least to most severe, as AWS_LAMBDA_LOG_LEVEL names them. */
    public const LEVELS = ['TRACE' => 1, 'DEBUG' => 2, 'INFO' => 3, 'WARN' => 4, 'ERROR' => 5, 'FATAL' => 6];

    private const JSON_FLAGS = JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE
        | JSON_INVALID_UTF8_SUBSTITUTE | JSON_PARTIAL_OUTPUT_ON_ERROR;

    private ?string $requestId = null;

    private ?string $tenantId = null;

    /** @var \Closure(): float current Unix time in seconds */
    private \Closure $clock;

    /**
     * @param resource $stream where records go, normally STDOUT
     * @param string $minimumLevel one of LEVELS, and records below it are dropped
     * @param (\Closure(): float)|null $clock current Unix time in seconds; tests pass a fixed one
     */
    public function __construct(
        private $stream,
        private readonly bool $json = false,
        private readonly string $minimumLevel = 'TRACE',
        ?\Closure $clock = null,
    ) {
        if (!isset(self::LEVELS[$minimumLevel])) {
            throw new \InvalidArgumentException("Invalid log level {$minimumLevel}: use one of " . implode(', ', array_keys(self::LEVELS)) . '.');
        }

        $this->clock = $clock ?? static fn (): float => microtime(true);
    }

    /**
     * Builds the logger Lambda's settings ask for: AWS_LAMBDA_LOG_FORMAT (TEXT or JSON) and
     * AWS_LAMBDA_LOG_LEVEL (TRACE, DEBUG, INFO, WARN, ERROR or FATAL, any case).
     *
     * @param array<string, string> $environment
     * @param resource $stream
     */
    public static function fromEnvironment(array $environment, $stream): self
    {
        $json = strtoupper($environment['AWS_LAMBDA_LOG_FORMAT'] ?? '') === 'JSON';
        $level = strtoupper($environment['AWS_LAMBDA_LOG_LEVEL'] ?? '');
        $logger = new self($stream, $json, isset(self::LEVELS[$level]) ? $level : 'TRACE');

        if ($level !== '' && !isset(self::LEVELS[$level])) {
            $logger->warn("Invalid AWS_LAMBDA_LOG_LEVEL={$environment['AWS_LAMBDA_LOG_LEVEL']}: use one of " . implode(', ', array_keys(self::LEVELS)) . '. Logging every level.');
        }

        return $logger;
    }

    /** Sets the request id (and tenant id) that every following record carries. */
    public function setInvocation(?string $requestId, ?string $tenantId = null): void
    {
        $this->requestId = $requestId;
        $this->tenantId = $tenantId;
    }

    public function isJson(): bool
    {
        return $this->json;
    }

    /** Returns whether records of this level pass AWS_LAMBDA_LOG_LEVEL. */
    public function isEnabled(string $level): bool
    {
        return (self::LEVELS[$level] ?? 0) >= self::LEVELS[$this->minimumLevel];
    }

    /** @param array<string, mixed> $context extra fields: JSON keys of the record, or JSON after the text message */
    public function trace(string|\Stringable $message, array $context = []): void
    {
        $this->log('TRACE', $message, $context);
    }

    /** @param array<string, mixed> $context */
    public function debug(string|\Stringable $message, array $context = []): void
    {
        $this->log('DEBUG', $message, $context);
    }

    /** @param array<string, mixed> $context */
    public function info(string|\Stringable $message, array $context = []): void
    {
        $this->log('INFO', $message, $context);
    }

    /** @param array<string, mixed> $context */
    public function warn(string|\Stringable $message, array $context = []): void
    {
        $this->log('WARN', $message, $context);
    }

    /** @param array<string, mixed> $context */
    public function error(string|\Stringable $message, array $context = []): void
    {
        $this->log('ERROR', $message, $context);
    }

    /** @param array<string, mixed> $context */
    public function fatal(string|\Stringable $message, array $context = []): void
    {
        $this->log('FATAL', $message, $context);
    }

    /**
     * Writes one record.
     *
     * @param array<string, mixed> $context extra fields; in JSON they become keys of the record
     *   (never replacing timestamp, level, requestId, tenantId or message), in text they follow
     *   the message as one JSON object
     */
    public function log(string $level, string|\Stringable $message, array $context = []): void
    {
        if (!$this->isEnabled($level)) {
            return;
        }

        $message = (string) $message;
        if ($this->json) {
            $this->write($this->jsonRecord($level, $message, $context));

            return;
        }

        if ($context !== []) {
            $message .= ' ' . json_encode($context, self::JSON_FLAGS);
        }
        $this->write($this->textRecord($level, $message));
    }

    /**
     * Writes an error report as one record. A text record has the message followed by the
     * stack trace lines. A JSON record has the message plus `errorType`, `errorMessage` and
     * `stackTrace` fields.
     *
     * @param array{errorType: string, errorMessage: string, stackTrace: list<string>} $payload
     */
    public function logErrorPayload(string $level, string $message, array $payload): void
    {
        if (!$this->isEnabled($level)) {
            return;
        }

        if ($this->json) {
            $this->write($this->jsonRecord($level, $message, $payload));

            return;
        }

        $lines = [$message, ...$payload['stackTrace']];
        $this->write($this->textRecord($level, implode("\n", $lines)));
    }

    private function textRecord(string $level, string $message): string
    {
        $message = str_replace(["\r\n", "\n"], "\r", $message);

        return $this->timestamp() . "\t" . ($this->requestId ?? '-') . "\t" . $level . "\t" . $message . "\n";
    }

    /** @param array<string, mixed> $fields */
    private function jsonRecord(string $level, string $message, array $fields): string
    {
        $record = ['timestamp' => $this->timestamp(), 'level' => $level];
        if ($this->requestId !== null) {
            $record['requestId'] = $this->requestId;
        }
        if ($this->tenantId !== null) {
            $record['tenantId'] = $this->tenantId;
        }
        $record['message'] = $message;
        $record += $fields;

        $line = json_encode($record, self::JSON_FLAGS);
        if ($line === false) {
            // Only nesting deeper than json_encode's 512 levels gets here: keep the record, drop the fields.
            $line = json_encode(array_diff_key($record, $fields), self::JSON_FLAGS);
        }

        return $line . "\n";
    }

    /** Returns the current time in RFC 3339 with milliseconds, UTC (2024-01-02T03:04:05.678Z). */
    private function timestamp(): string
    {
        $milliseconds = (int) round(($this->clock)() * 1000);

        return gmdate('Y-m-d\TH:i:s', intdiv($milliseconds, 1000)) . sprintf('.%03dZ', $milliseconds % 1000);
    }

    private function write(string $record): void
    {
        fwrite($this->stream, $record);
    }
}
