<?php

declare(strict_types=1);

namespace LambdaRuntime;

/** A response from the Runtime API: status code, headers of the final response, body. */
final class HttpResponse
{
    /**
     * @param array<string, string> $headers header values keyed by lower-case name
     */
    public function __construct(
        public readonly int $status,
        public readonly array $headers,
        public readonly string $body,
    ) {
    }

    /** Returns a header's value by case-insensitive name, or null when the response lacks it. */
    public function header(string $name): ?string
    {
        return $this->headers[strtolower($name)] ?? null;
    }
}
