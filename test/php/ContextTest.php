<?php

declare(strict_types=1);

namespace LambdaRuntime\Tests;

use LambdaRuntime\Context;
use LambdaRuntime\HttpResponse;
use LambdaRuntime\Logger;
use LambdaRuntime\RuntimeError;
use PHPUnit\Framework\TestCase;

final class ContextTest extends TestCase
{
    private const ENVIRONMENT = [
        'AWS_LAMBDA_FUNCTION_NAME' => 'orders',
        'AWS_LAMBDA_FUNCTION_VERSION' => '$LATEST',
        'AWS_LAMBDA_FUNCTION_MEMORY_SIZE' => '512',
        'AWS_LAMBDA_LOG_GROUP_NAME' => '/aws/lambda/orders',
        'AWS_LAMBDA_LOG_STREAM_NAME' => '2024/01/02/[$LATEST]abc',
    ];

    /** @param array<string, string> $headers */
    private static function context(array $headers, ?\Closure $clock = null): Context
    {
        $next = new HttpResponse(200, $headers, '{}');
        $logger = new Logger(fopen('php://memory', 'w+b'));

        return Context::fromNextResponse($next, self::ENVIRONMENT, $logger, $clock);
    }

    public function testAllFields(): void
    {
        $context = self::context([
            'lambda-runtime-aws-request-id' => 'req-1',
            'lambda-runtime-deadline-ms' => '1704164645678',
            'lambda-runtime-invoked-function-arn' => 'arn:aws:lambda:us-east-1:123456789012:function:orders',
            'lambda-runtime-trace-id' => 'Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1',
            'lambda-runtime-client-context' => '{"client":{"installation_id":"i-1"},"custom":{"k":"v"},"env":{"locale":"en"}}',
            'lambda-runtime-cognito-identity' => '{"cognitoIdentityId":"id-1","cognitoIdentityPoolId":"pool-1"}',
            'lambda-runtime-aws-tenant-id' => 'tenant-7',
        ]);

        $this->assertSame('req-1', $context->awsRequestId);
        $this->assertSame(1704164645678, $context->deadlineMs);
        $this->assertSame('arn:aws:lambda:us-east-1:123456789012:function:orders', $context->invokedFunctionArn);
        $this->assertSame('Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1', $context->traceId);
        $this->assertSame(['client' => ['installation_id' => 'i-1'], 'custom' => ['k' => 'v'], 'env' => ['locale' => 'en']], $context->clientContext);
        $this->assertSame(['cognitoIdentityId' => 'id-1', 'cognitoIdentityPoolId' => 'pool-1'], $context->identity);
        $this->assertSame('tenant-7', $context->tenantId);
        $this->assertSame('orders', $context->functionName);
        $this->assertSame('$LATEST', $context->functionVersion);
        $this->assertSame(512, $context->memoryLimitInMb);
        $this->assertSame('/aws/lambda/orders', $context->logGroupName);
        $this->assertSame('2024/01/02/[$LATEST]abc', $context->logStreamName);
    }

    public function testOptionalHeadersAbsent(): void
    {
        $context = self::context(['lambda-runtime-aws-request-id' => 'req-2', 'lambda-runtime-deadline-ms' => '1']);

        $this->assertNull($context->traceId);
        $this->assertNull($context->clientContext);
        $this->assertNull($context->identity);
        $this->assertNull($context->tenantId);
    }

    public function testRemainingTime(): void
    {
        $context = self::context(['lambda-runtime-deadline-ms' => '10000'], static fn (): float => 7000.4);

        $this->assertSame(3000, $context->getRemainingTimeInMillis());
    }

    public function testRemainingTimeNeverNegative(): void
    {
        $context = self::context(['lambda-runtime-deadline-ms' => '10000'], static fn (): float => 12000.0);

        $this->assertSame(0, $context->getRemainingTimeInMillis());
    }

    public function testRemainingTimeRealClock(): void
    {
        $deadline = (int) (microtime(true) * 1000) + 60_000;
        $context = self::context(['lambda-runtime-deadline-ms' => (string) $deadline]);

        $this->assertGreaterThan(0, $context->getRemainingTimeInMillis());
        $this->assertLessThanOrEqual(60_000, $context->getRemainingTimeInMillis());
    }

    public function testInvalidClientContextJson(): void
    {
        try {
            self::context(['lambda-runtime-client-context' => '{not json']);
            $this->fail('Expected a RuntimeError');
        } catch (RuntimeError $error) {
            $this->assertSame('Runtime.UnmarshalError', $error->errorType);
            $this->assertStringContainsString('Lambda-Runtime-Client-Context is not valid JSON', $error->getMessage());
        }
    }

    public function testCognitoIdentityMustBeObject(): void
    {
        $this->expectException(RuntimeError::class);
        $this->expectExceptionMessage('Lambda-Runtime-Cognito-Identity must contain a JSON object, got string');

        self::context(['lambda-runtime-cognito-identity' => '"id-1"']);
    }

    public function testJsonSerializeLeavesOutLogger(): void
    {
        $json = json_decode(json_encode(self::context(['lambda-runtime-aws-request-id' => 'req-3'])), true);

        $this->assertSame('req-3', $json['awsRequestId']);
        $this->assertArrayNotHasKey('logger', $json);
    }
}
