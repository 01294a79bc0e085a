<?php

declare(strict_types=1);

namespace LambdaRuntime;

/**
 * HTTP client for the Lambda Runtime API, version 2018-06-01
 * (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html).
 *
 * One curl handle serves every request, so the connection to the API stays open between
 * invocations (keep-alive).
 */
final class RuntimeApiClient
{
    public const ERROR_CONTENT_TYPE = 'application/vnd.aws.lambda.error+json';

    // aws-lambda-cpp 0.2.8 (the client inside AWS's Node.js runtime, src/runtime.cpp) also
    // gives up connecting after 1 s.
    private const CONNECT_TIMEOUT_MS = 1000;

    private \CurlHandle $curl;

    private string $baseUrl;

    /** @var array<string, string> headers of the response being read, keyed by lower-case name */
    private array $responseHeaders = [];

    /**
     * @param string $runtimeApi host and port from AWS_LAMBDA_RUNTIME_API, such as 127.0.0.1:9001
     * @throws RuntimeApiException when curl is missing or $runtimeApi is empty
     */
    public function __construct(string $runtimeApi)
    {
        if (!extension_loaded('curl')) {
            throw new RuntimeApiException('The PHP curl extension is not loaded, and the runtime needs it to reach the Lambda Runtime API. Load it with extension=curl in php.ini or an .ini file in php/conf.d.');
        }

        if ($runtimeApi === '') {
            throw new RuntimeApiException('AWS_LAMBDA_RUNTIME_API is missing: set it to the host:port of the Lambda Runtime API.');
        }

        $this->baseUrl = 'http://' . $runtimeApi . '/2018-06-01';
        $this->curl = curl_init();
        curl_setopt_array($this->curl, [
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_HTTP_VERSION => CURL_HTTP_VERSION_1_1,
            CURLOPT_CONNECTTIMEOUT_MS => self::CONNECT_TIMEOUT_MS,
            // No total timeout: Lambda freezes the sandbox while /next waits for an event.
            CURLOPT_TIMEOUT => 0,
            CURLOPT_TCP_NODELAY => true,
            CURLOPT_NOSIGNAL => true,
            CURLOPT_FOLLOWLOCATION => false,
            // The API is local: never route it through an HTTP_PROXY the function sets for its own calls.
            CURLOPT_PROXY => '',
            CURLOPT_NOPROXY => '*',
            CURLOPT_HEADERFUNCTION => $this->collectHeader(...),
        ]);
    }

    /** Waits for the next event: GET /runtime/invocation/next, blocking as long as Lambda needs. */
    public function nextInvocation(): HttpResponse
    {
        return $this->send('GET', '/runtime/invocation/next', null, []);
    }

    /** Posts a handler's result: POST /runtime/invocation/{id}/response. */
    public function postResponse(string $requestId, string $body): HttpResponse
    {
        return $this->send('POST', '/runtime/invocation/' . rawurlencode($requestId) . '/response', $body, [
            'Content-Type: application/json',
        ]);
    }

    /**
     * Posts an invocation error: POST /runtime/invocation/{id}/error.
     *
     * @param string $errorBody JSON from ErrorFormatter::encode()
     */
    public function postInvocationError(string $requestId, string $errorType, string $errorBody): HttpResponse
    {
        return $this->send('POST', '/runtime/invocation/' . rawurlencode($requestId) . '/error', $errorBody, [
            'Content-Type: ' . self::ERROR_CONTENT_TYPE,
            'Lambda-Runtime-Function-Error-Type: ' . ErrorFormatter::headerValue($errorType),
        ]);
    }

    /** Posts an error that stopped initialization: POST /runtime/init/error. */
    public function postInitError(string $errorType, string $errorBody): HttpResponse
    {
        return $this->send('POST', '/runtime/init/error', $errorBody, [
            'Content-Type: ' . self::ERROR_CONTENT_TYPE,
            'Lambda-Runtime-Function-Error-Type: ' . ErrorFormatter::headerValue($errorType),
        ]);
    }

    /**
     * Sends one request on the shared handle.
     *
     * @param list<string> $headers
     * @throws RuntimeApiException when no HTTP response arrives (connection refused, reset, timed out)
     */
    private function send(string $method, string $path, ?string $body, array $headers): HttpResponse
    {
        $this->responseHeaders = [];

        if ($body === null) {
            curl_setopt($this->curl, CURLOPT_HTTPGET, true);
        } else {
            curl_setopt($this->curl, CURLOPT_POST, true);
            curl_setopt($this->curl, CURLOPT_POSTFIELDS, $body);
        }

        // An empty Expect header stops curl from waiting for "100 Continue" before large bodies.
        $headers[] = 'Expect:';
        curl_setopt($this->curl, CURLOPT_HTTPHEADER, $headers);
        curl_setopt($this->curl, CURLOPT_URL, $this->baseUrl . $path);

        $responseBody = curl_exec($this->curl);
        if ($responseBody === false) {
            $reason = curl_error($this->curl);
            $code = curl_errno($this->curl);
            throw new RuntimeApiException("{$method} {$this->baseUrl}{$path} failed: {$reason} (curl error {$code})");
        }

        $status = curl_getinfo($this->curl, CURLINFO_RESPONSE_CODE);

        return new HttpResponse($status, $this->responseHeaders, (string) $responseBody);
    }

    /** Receives one header line from curl. A status line starts a new response, as after 100 Continue. */
    private function collectHeader(\CurlHandle $curl, string $line): int
    {
        if (str_starts_with($line, 'HTTP/')) {
            $this->responseHeaders = [];

            return strlen($line);
        }

        $colon = strpos($line, ':');
        if ($colon !== false) {
            $name = strtolower(trim(substr($line, 0, $colon)));
            $this->responseHeaders[$name] = trim(substr($line, $colon + 1));
        }

        return strlen($line);
    }
}
