<?php

declare(strict_types=1);

namespace LambdaRuntime;

/**
 * The invocation context passed to every handler as its second argument: the fields of the
 * /next response headers plus the function's settings from the Lambda environment.
 */
final class Context implements \JsonSerializable
{
    /** @var \Closure(): float current Unix time in milliseconds */
    private \Closure $clock;

    /**
     * @param array<string, mixed>|null $clientContext decoded Lambda-Runtime-Client-Context (mobile SDK invocations)
     * @param array<string, mixed>|null $identity decoded Lambda-Runtime-Cognito-Identity
     * @param (\Closure(): float)|null $clock current Unix time in milliseconds; tests pass a fixed one
     */
    public function __construct(
        public readonly string $awsRequestId,
        public readonly int $deadlineMs,
        public readonly string $invokedFunctionArn,
        public readonly ?string $traceId,
        public readonly ?array $clientContext,
        public readonly ?array $identity,
        public readonly ?string $tenantId,
        public readonly string $functionName,
        public readonly string $functionVersion,
        public readonly int $memoryLimitInMb,
        public readonly string $logGroupName,
        public readonly string $logStreamName,
        public readonly Logger $logger,
        ?\Closure $clock = null,
    ) {
        $this->clock = $clock ?? static fn (): float => microtime(true) * 1000;
    }

    /**
     * Builds the context of one invocation.
     *
     * @param HttpResponse $next the /next response
     * @param array<string, string> $environment the process environment (getenv())
     * @throws RuntimeError Runtime.UnmarshalError when the client context or Cognito identity header is not a JSON object
     */
    public static function fromNextResponse(HttpResponse $next, array $environment, Logger $logger, ?\Closure $clock = null): self
    {
        return new self(
            awsRequestId: $next->header('Lambda-Runtime-Aws-Request-Id') ?? '',
            deadlineMs: (int) ($next->header('Lambda-Runtime-Deadline-Ms') ?? 0),
            invokedFunctionArn: $next->header('Lambda-Runtime-Invoked-Function-Arn') ?? '',
            traceId: self::nonEmpty($next->header('Lambda-Runtime-Trace-Id')),
            clientContext: self::decodeObject('Lambda-Runtime-Client-Context', $next->header('Lambda-Runtime-Client-Context')),
            identity: self::decodeObject('Lambda-Runtime-Cognito-Identity', $next->header('Lambda-Runtime-Cognito-Identity')),
            tenantId: self::nonEmpty($next->header('Lambda-Runtime-Aws-Tenant-Id')),
            functionName: $environment['AWS_LAMBDA_FUNCTION_NAME'] ?? '',
            functionVersion: $environment['AWS_LAMBDA_FUNCTION_VERSION'] ?? '',
            memoryLimitInMb: (int) ($environment['AWS_LAMBDA_FUNCTION_MEMORY_SIZE'] ?? 0),
            logGroupName: $environment['AWS_LAMBDA_LOG_GROUP_NAME'] ?? '',
            logStreamName: $environment['AWS_LAMBDA_LOG_STREAM_NAME'] ?? '',
            logger: $logger,
            clock: $clock,
        );
    }

    /** Returns the milliseconds left before Lambda stops this invocation, never below 0. */
    public function getRemainingTimeInMillis(): int
    {
        return max(0, $this->deadlineMs - (int) floor(($this->clock)()));
    }

    /** @return array<string, mixed> the context's fields, without the logger */
    public function jsonSerialize(): array
    {
        return [
            'awsRequestId' => $this->awsRequestId,
            'deadlineMs' => $this->deadlineMs,
            'invokedFunctionArn' => $this->invokedFunctionArn,
            'traceId' => $this->traceId,
            'clientContext' => $this->clientContext,
            'identity' => $this->identity,
            'tenantId' => $this->tenantId,
            'functionName' => $this->functionName,
            'functionVersion' => $this->functionVersion,
            'memoryLimitInMb' => $this->memoryLimitInMb,
            'logGroupName' => $this->logGroupName,
            'logStreamName' => $this->logStreamName,
        ];
    }

    private static function nonEmpty(?string $value): ?string
    {
        return $value === null || $value === '' ? null : $value;
    }

    /**
     * @return array<string, mixed>|null
     * @throws RuntimeError
     */
    private static function decodeObject(string $header, ?string $json): ?array
    {
        if ($json === null || $json === '') {
            return null;
        }

        try {
            $value = json_decode($json, true, 512, JSON_THROW_ON_ERROR);
        } catch (\JsonException $error) {
            throw new RuntimeError(RuntimeError::UNMARSHAL_ERROR, "Header {$header} is not valid JSON: {$error->getMessage()}.", $error);
        }

        if (!is_array($value)) {
            throw new RuntimeError(RuntimeError::UNMARSHAL_ERROR, "Header {$header} must contain a JSON object, got " . get_debug_type($value) . '.');
        }

        return $value;
    }
}
