<?php

declare(strict_types=1);

namespace LambdaRuntime;

/**
 * Turns errors into the body Lambda expects on /error and /init/error:
 * {"errorType": "...", "errorMessage": "...", "stackTrace": ["...", ...]}.
 */
final class ErrorFormatter
{
    /**
     * Error types that end the PHP process. An error handler can take only E_USER_ERROR and
     * E_RECOVERABLE_ERROR, and the runtime's handler turns those into exceptions.
     */
    public const FATAL_TYPES = E_ERROR | E_PARSE | E_CORE_ERROR | E_COMPILE_ERROR | E_USER_ERROR | E_RECOVERABLE_ERROR;

    /**
     * Formats a Throwable: its class (or a RuntimeError's error type), message, the frames as
     * PHP prints them without arguments, and one line per previous exception.
     *
     * @return array{errorType: string, errorMessage: string, stackTrace: list<string>}
     */
    public static function fromThrowable(\Throwable $error): array
    {
        $stackTrace = self::frames($error);

        for ($previous = $error->getPrevious(); $previous !== null; $previous = $previous->getPrevious()) {
            $stackTrace[] = 'caused by ' . $previous::class . ': ' . $previous->getMessage()
                . ', thrown in ' . $previous->getFile() . ' on line ' . $previous->getLine();
        }

        return [
            'errorType' => $error instanceof RuntimeError ? $error->errorType : $error::class,
            'errorMessage' => $error->getMessage(),
            'stackTrace' => $stackTrace,
        ];
    }

    /**
     * Formats a fatal error from error_get_last(). Memory exhaustion gets Runtime.OutOfMemory,
     * every other fatal error Runtime.FatalError.
     *
     * @param array{type: int, message: string, file: string, line: int} $error
     * @return array{errorType: string, errorMessage: string, stackTrace: list<string>}
     */
    public static function fromFatalError(array $error): array
    {
        $outOfMemory = str_starts_with($error['message'], 'Allowed memory size of')
            || str_starts_with($error['message'], 'Out of memory');

        return [
            'errorType' => $outOfMemory ? RuntimeError::OUT_OF_MEMORY : RuntimeError::FATAL_ERROR,
            'errorMessage' => $error['message'],
            'stackTrace' => ["in {$error['file']} on line {$error['line']}"],
        ];
    }

    /**
     * Encodes a payload as JSON that is valid whatever bytes its strings hold: invalid UTF-8
     * becomes U+FFFD, control characters are escaped.
     *
     * @param array{errorType: string, errorMessage: string, stackTrace: list<string>} $payload
     */
    public static function encode(array $payload): string
    {
        $json = json_encode($payload, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE);
        if ($json === false) {
            // Strings and lists of strings always encode, so this only keeps the body valid should that change.
            $json = json_encode([
                'errorType' => 'Runtime.Unknown',
                'errorMessage' => 'The error could not be encoded as JSON: ' . json_last_error_msg(),
                'stackTrace' => [],
            ]);
        }

        return $json;
    }

    /**
     * Makes a value safe for an HTTP header: bytes outside printable ASCII become %XX, as
     * in URL encoding, so non-ASCII class names and control characters cannot break the request.
     */
    public static function headerValue(string $value): string
    {
        return preg_replace_callback(
            '/[^\x20-\x7E]/',
            static fn (array $match): string => sprintf('%%%02X', ord($match[0])),
            $value,
        ) ?? '';
    }

    /** @return list<string> */
    private static function frames(\Throwable $error): array
    {
        $lines = ["thrown in {$error->getFile()} on line {$error->getLine()}"];

        foreach ($error->getTrace() as $index => $frame) {
            $location = isset($frame['file']) ? "{$frame['file']}({$frame['line']})" : '[internal function]';
            $call = ($frame['class'] ?? '') . ($frame['type'] ?? '') . $frame['function'] . '()';
            $lines[] = "#{$index} {$location}: {$call}";
        }

        $lines[] = '#' . count($error->getTrace()) . ' {main}';

        return $lines;
    }
}
