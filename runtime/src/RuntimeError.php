<?php

declare(strict_types=1);

namespace LambdaRuntime;

/**
 * An error the runtime detects itself (handler not found, event not JSON, response not
 * encodable), reported to Lambda with its own error type instead of the PHP class name.
 */
final class RuntimeError extends \RuntimeException
{
    public const MALFORMED_HANDLER_NAME = 'Runtime.MalformedHandlerName';
    public const HANDLER_NOT_FOUND = 'Runtime.HandlerNotFound';
    public const INVALID_HANDLER = 'Runtime.InvalidHandler';
    public const USER_CODE_SYNTAX_ERROR = 'Runtime.UserCodeSyntaxError';
    public const UNMARSHAL_ERROR = 'Runtime.UnmarshalError';
    public const MARSHAL_ERROR = 'Runtime.MarshalError';
    public const FATAL_ERROR = 'Runtime.FatalError';
    public const OUT_OF_MEMORY = 'Runtime.OutOfMemory';
    public const EXIT_ERROR = 'Runtime.ExitError';

    public function __construct(
        public readonly string $errorType,
        string $message,
        ?\Throwable $previous = null,
    ) {
        parent::__construct($message, 0, $previous);
    }
}
