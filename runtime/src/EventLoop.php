<?php

declare(strict_types=1);

namespace LambdaRuntime;

/**
 * The runtime's main loop: resolves the handler once, then fetches events from the Runtime
 * API, calls the handler and reports each result until the process has to end.
 *
 * bootstrap acts on the exit status:
 * - EXIT_RESTART (75): start a fresh PHP process. Used after a fatal error or exit() was
 *   reported for its request, and after max invocations when recycling is configured.
 * - EXIT_INIT_FAILED (1): the handler could not be loaded, and /runtime/init/error got the reason.
 * - EXIT_RUNTIME_API_FAILED (69): the Runtime API failed (500, a failed /next, no connection).
 *   AWS's Runtime API OpenAPI spec (1.0.3) calls a 500 non-recoverable: "Runtime should exit promptly."
 */
final class EventLoop
{
    /** EX_TEMPFAIL from sysexits.h: the work can go on in a new process. */
    public const EXIT_RESTART = 75;

    public const EXIT_INIT_FAILED = 1;

    /** EX_UNAVAILABLE from sysexits.h: a service the program needs failed. */
    public const EXIT_RUNTIME_API_FAILED = 69;

    private const RESPONSE_JSON_FLAGS = JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES
        | JSON_UNESCAPED_UNICODE | JSON_PRESERVE_ZERO_FRACTION;

    /** Labels PHP itself prints before a warning or notice. */
    private const PHP_ERROR_LABELS = [
        E_WARNING => 'PHP Warning',
        E_NOTICE => 'PHP Notice',
        E_DEPRECATED => 'PHP Deprecated',
        E_CORE_WARNING => 'PHP Warning',
        E_COMPILE_WARNING => 'PHP Warning',
        E_USER_WARNING => 'PHP Warning',
        E_USER_NOTICE => 'PHP Notice',
        E_USER_DEPRECATED => 'PHP Deprecated',
    ];

    private static ?self $current = null;

    /** 'init' until the handler is resolved, 'idle' between events, 'invoke' while one is open, 'done' when ending. */
    private string $phase = 'init';

    private ?HandlerLocation $location = null;

    private ?\Closure $handler = null;

    /** Request id of the invocation that has no response or error posted yet. */
    private ?string $openRequestId = null;

    /**
     * @param array<string, string> $environment the process environment (getenv())
     * @param int $maxInvocations end with EXIT_RESTART after this many invocations, or never when 0
     */
    public function __construct(
        private readonly RuntimeApiClient $client,
        private readonly Logger $logger,
        private readonly HandlerResolver $resolver,
        private readonly array $environment,
        private readonly int $maxInvocations = 0,
    ) {
    }

    /**
     * Builds the loop from the Lambda environment, takes over PHP's error reporting and
     * locates the handler. Reports an init error and exits when that fails.
     */
    public static function boot(): self
    {
        self::createOpcacheFileCacheFolder();
        $environment = getenv();
        $logger = Logger::fromEnvironment($environment, STDOUT);
        $taskRoot = $environment['LAMBDA_TASK_ROOT'] ?? (getcwd() ?: '.');

        try {
            $client = new RuntimeApiClient($environment['AWS_LAMBDA_RUNTIME_API'] ?? '');
        } catch (RuntimeApiException $error) {
            $logger->fatal($error->getMessage());
            exit(self::EXIT_RUNTIME_API_FAILED);
        }

        $loop = new self($client, $logger, new HandlerResolver($taskRoot), $environment, self::maxInvocations($environment, $logger));
        self::$current = $loop;
        $loop->takeOverErrorReporting();

        if (is_dir($taskRoot)) {
            chdir($taskRoot);
        }

        try {
            $loop->location = $loop->resolver->locate($environment['_HANDLER'] ?? '');
        } catch (RuntimeError $error) {
            $loop->failInit($error);
        }

        return $loop;
    }

    /**
     * Creates the folder that opcache.file_cache names when it is missing. opcache leaves its
     * file cache off in a PHP process that starts without the folder, so this process runs
     * without it and the PHP processes that bootstrap starts later in the sandbox use it.
     */
    private static function createOpcacheFileCacheFolder(): void
    {
        $folder = ini_get('opcache.file_cache');
        if (is_string($folder) && $folder !== '' && !is_dir($folder)) {
            // Without the folder the file cache stays off, which costs compile time only.
            @mkdir($folder, 0777, true);
        }
    }

    /** Returns the loop that boot() created. */
    public static function current(): self
    {
        return self::$current ?? throw new \LogicException('EventLoop::boot() has not run.');
    }

    /**
     * Reads the recycling setting: LAMBDA_RUNTIME_MAX_INVOCATIONS from the environment, else
     * lambda_runtime.max_invocations from php.ini or an .ini file in PHP_INI_SCAN_DIR.
     *
     * @param array<string, string> $environment
     */
    public static function maxInvocations(array $environment, Logger $logger): int
    {
        $value = $environment['LAMBDA_RUNTIME_MAX_INVOCATIONS'] ?? get_cfg_var('lambda_runtime.max_invocations');
        if ($value === false || $value === '') {
            return 0;
        }

        if (preg_match('/^\d+$/', trim((string) $value)) !== 1) {
            $logger->warn("Invalid max invocations '{$value}' in LAMBDA_RUNTIME_MAX_INVOCATIONS or lambda_runtime.max_invocations: use a whole number, or 0 to keep one PHP process. Recycling stays off.");

            return 0;
        }

        return (int) $value;
    }

    /** Returns the path of the handler file, which the caller loads in the global scope. */
    public function handlerFile(): string
    {
        return $this->location?->file ?? throw new \LogicException('The handler has not been located.');
    }

    /**
     * Finishes initialization with what the handler file returned. Reports an init error and
     * exits when the handler it names cannot be used.
     */
    public function useHandlerFileResult(mixed $fileResult): void
    {
        try {
            $this->handler = $this->resolver->resolve($this->location ?? throw new \LogicException('The handler has not been located.'), $fileResult);
        } catch (RuntimeError $error) {
            $this->failInit($error);
        }
    }

    /** Sets the handler directly (tests, embedding). */
    public function setHandler(\Closure $handler): void
    {
        $this->handler = $handler;
    }

    /** Reports an error that stopped initialization to /runtime/init/error, logs it and exits. */
    public function failInit(\Throwable $error): never
    {
        if ($error instanceof \CompileError) {
            $error = new RuntimeError(
                RuntimeError::USER_CODE_SYNTAX_ERROR,
                "{$error->getMessage()} in {$error->getFile()} on line {$error->getLine()}",
                $error,
            );
        }

        $this->phase = 'done';
        $this->reportInitError(ErrorFormatter::fromThrowable($error));

        exit(self::EXIT_INIT_FAILED);
    }

    /**
     * Processes events until the process has to end, and returns the exit status for
     * bootstrap (see the class comment).
     */
    public function run(): int
    {
        $handler = $this->handler ?? throw new \LogicException('run() needs a handler: call useHandlerFileResult() or setHandler() first.');
        $this->phase = 'idle';
        $completed = 0;

        try {
            while (true) {
                $this->processNextInvocation($handler);
                $completed++;

                if ($this->maxInvocations > 0 && $completed >= $this->maxInvocations) {
                    $this->phase = 'done';
                    $this->logger->debug("Restarting PHP after {$completed} invocations (max invocations {$this->maxInvocations}).");

                    return self::EXIT_RESTART;
                }
            }
        } catch (RuntimeApiException $error) {
            $this->phase = 'done';
            $this->logger->fatal("{$error->getMessage()} The runtime exits.");

            return self::EXIT_RUNTIME_API_FAILED;
        }
    }

    /**
     * Waits for one event, runs the handler on it and reports the outcome.
     *
     * @throws RuntimeApiException
     */
    private function processNextInvocation(\Closure $handler): void
    {
        $next = $this->client->nextInvocation();
        if ($next->status !== 200) {
            throw new RuntimeApiException("GET /runtime/invocation/next returned HTTP {$next->status}: " . trim($next->body));
        }

        $requestId = $next->header('Lambda-Runtime-Aws-Request-Id') ?? '';
        if ($requestId === '') {
            throw new RuntimeApiException('GET /runtime/invocation/next returned an event without a Lambda-Runtime-Aws-Request-Id header.');
        }

        $this->beginInvocation($requestId, $next);

        try {
            $body = $this->runHandler($handler, $next);
        } catch (\Throwable $error) {
            $payload = ErrorFormatter::fromThrowable($error);
            // The exception can hold objects of this request, so it is freed before Lambda gets the error.
            unset($error);
            $this->reportInvocationError($requestId, $payload);

            return;
        }

        $response = $this->client->postResponse($requestId, $body);
        $this->endInvocation();
        $this->checkReportStatus($response, 'response', $requestId, strlen($body));
    }

    /**
     * Calls the handler and returns its result as JSON. The event, context and result are
     * locals here, so their destructors run when this returns. That is before the response is
     * sent, so nothing of this request runs after Lambda has the response.
     *
     * @throws \Throwable whatever the handler throws, or a RuntimeError for bad JSON
     */
    private function runHandler(\Closure $handler, HttpResponse $next): string
    {
        $context = Context::fromNextResponse($next, $this->environment, $this->logger);
        $event = self::decodeEvent($next->body);
        $result = $handler($event, $context);

        return self::encodeResponse($result);
    }

    private function beginInvocation(string $requestId, HttpResponse $next): void
    {
        $this->logger->setInvocation($requestId, $next->header('Lambda-Runtime-Aws-Tenant-Id'));
        self::setTraceId($next->header('Lambda-Runtime-Trace-Id'));
        error_clear_last();

        $this->openRequestId = $requestId;
        $this->phase = 'invoke';
    }

    private function endInvocation(): void
    {
        $this->openRequestId = null;
        $this->phase = 'idle';
    }

    /**
     * Sets _X_AMZN_TRACE_ID for the invocation (environment, $_SERVER and $_ENV), where the
     * X-Ray SDK and AWS SDKs look for it, or removes it when the event has no trace id.
     */
    public static function setTraceId(?string $traceId): void
    {
        if ($traceId === null || $traceId === '') {
            putenv('_X_AMZN_TRACE_ID');
            unset($_SERVER['_X_AMZN_TRACE_ID'], $_ENV['_X_AMZN_TRACE_ID']);

            return;
        }

        putenv("_X_AMZN_TRACE_ID={$traceId}");
        $_SERVER['_X_AMZN_TRACE_ID'] = $traceId;
        $_ENV['_X_AMZN_TRACE_ID'] = $traceId;
    }

    /**
     * Decodes the event JSON to arrays. An empty body decodes to null.
     *
     * @throws RuntimeError Runtime.UnmarshalError
     */
    public static function decodeEvent(string $body): mixed
    {
        if ($body === '') {
            return null;
        }

        try {
            return json_decode($body, true, 512, JSON_THROW_ON_ERROR);
        } catch (\JsonException $error) {
            throw new RuntimeError(RuntimeError::UNMARSHAL_ERROR, "The event is not valid JSON: {$error->getMessage()}.", $error);
        }
    }

    /**
     * Encodes the handler's return value as JSON. null, also from a handler that returns
     * nothing, becomes `null`.
     *
     * @throws RuntimeError Runtime.MarshalError for invalid UTF-8, INF or NAN, resources, nesting over 512
     */
    public static function encodeResponse(mixed $result): string
    {
        try {
            return json_encode($result, self::RESPONSE_JSON_FLAGS);
        } catch (\JsonException $error) {
            throw new RuntimeError(
                RuntimeError::MARSHAL_ERROR,
                'The handler returned a ' . get_debug_type($result) . " that cannot be encoded as JSON: {$error->getMessage()}.",
                $error,
            );
        }
    }

    /**
     * Logs an invocation error and posts it to /runtime/invocation/{id}/error.
     *
     * @param array{errorType: string, errorMessage: string, stackTrace: list<string>} $payload
     * @throws RuntimeApiException
     */
    private function reportInvocationError(string $requestId, array $payload): void
    {
        $this->logger->logErrorPayload('ERROR', "Invoke Error: {$payload['errorType']}: {$payload['errorMessage']}", $payload);

        $body = ErrorFormatter::encode($payload);
        $response = $this->client->postInvocationError($requestId, $payload['errorType'], $body);
        $this->endInvocation();
        $this->checkReportStatus($response, 'error', $requestId, strlen($body));
    }

    /**
     * Logs an init error and posts it to /runtime/init/error. A failure to post is logged only,
     * because the process exits next either way.
     *
     * @param array{errorType: string, errorMessage: string, stackTrace: list<string>} $payload
     */
    private function reportInitError(array $payload): void
    {
        $this->logger->logErrorPayload('FATAL', "Init Error: {$payload['errorType']}: {$payload['errorMessage']}", $payload);

        try {
            $response = $this->client->postInitError($payload['errorType'], ErrorFormatter::encode($payload));
        } catch (RuntimeApiException $error) {
            $this->logger->error("Could not report the init error: {$error->getMessage()}");

            return;
        }

        if ($response->status < 200 || $response->status > 299) {
            $this->logger->error("POST /runtime/init/error returned HTTP {$response->status}: " . trim($response->body));
        }
    }

    /**
     * Checks the Runtime API's status for a response or error report. 202 is success. A 413
     * (response over 6,291,556 bytes) is logged with the size, and no /error follows because
     * Lambda has already failed the invocation. 400 and 403 are logged and the loop goes on.
     *
     * @throws RuntimeApiException on 500, a non-recoverable state in the Runtime API spec
     */
    private function checkReportStatus(HttpResponse $response, string $report, string $requestId, int $bytes): void
    {
        $status = $response->status;
        if ($status >= 200 && $status <= 299) {
            return;
        }

        $endpoint = "POST /runtime/invocation/{$requestId}/{$report}";
        if ($status === 500) {
            throw new RuntimeApiException("{$endpoint} returned HTTP 500: " . trim($response->body));
        }

        if ($status === 413) {
            $this->logger->error("{$endpoint} returned HTTP 413: the {$report} of {$bytes} bytes is over the Runtime API's size limit, so Lambda fails this invocation. " . trim($response->body));

            return;
        }

        $this->logger->error("{$endpoint} returned HTTP {$status}: " . trim($response->body));
    }

    /**
     * Routes PHP's warnings and notices to the logger and reports fatal errors and exit() for
     * the open request or init. PHP's own error log stays off while the runtime runs, because
     * every error it would print reaches the logger with the request id.
     */
    private function takeOverErrorReporting(): void
    {
        set_error_handler($this->handlePhpError(...));
        register_shutdown_function($this->reportShutdown(...));
        ini_set('log_errors', '0');
        ini_set('display_errors', '0');
    }

    /**
     * Logs a warning, notice or deprecation with its file and line, and turns E_USER_ERROR and
     * E_RECOVERABLE_ERROR into an ErrorException so the invocation fails without ending PHP.
     */
    private function handlePhpError(int $type, string $message, string $file, int $line): bool
    {
        if ((error_reporting() & $type) === 0) {
            return false;
        }

        if (($type & (E_USER_ERROR | E_RECOVERABLE_ERROR)) !== 0) {
            throw new \ErrorException($message, 0, $type, $file, $line);
        }

        $level = ($type & (E_DEPRECATED | E_USER_DEPRECATED)) !== 0 ? 'INFO' : 'WARN';
        $label = self::PHP_ERROR_LABELS[$type] ?? 'PHP Error';
        $this->logger->log($level, "{$label}: {$message} in {$file} on line {$line}");

        return true;
    }

    /**
     * Shutdown function. PHP ends during init or an invocation only on a fatal error or
     * exit(). Then it reports that to Lambda (and to the log), lets the other shutdown
     * functions run and sets the exit status: EXIT_INIT_FAILED during init, EXIT_RESTART
     * during an invocation. A fatal error at any other time is only logged, because PHP's own
     * error log is off.
     */
    private function reportShutdown(): void
    {
        $phase = $this->phase;
        $this->phase = 'done';

        $error = error_get_last();
        $fatal = $error !== null && ($error['type'] & ErrorFormatter::FATAL_TYPES) !== 0;
        if ($fatal) {
            // After "Allowed memory size exhausted" the handler's memory is still in use: lift the
            // limit so the report can be built and sent.
            ini_set('memory_limit', '-1');
        }

        if ($phase !== 'init' && $phase !== 'invoke') {
            if ($fatal) {
                $this->logger->fatal("PHP Fatal error: {$error['message']} in {$error['file']} on line {$error['line']}");
            }

            return;
        }

        $payload = $fatal ? ErrorFormatter::fromFatalError($error) : self::exitPayload($phase);

        if ($phase === 'init') {
            $this->reportInitError($payload);
            $status = self::EXIT_INIT_FAILED;
        } else {
            $this->reportOpenInvocationError($payload);
            $status = self::EXIT_RESTART;
        }

        register_shutdown_function(static function () use ($status): void {
            exit($status);
        });
    }

    /** @param array{errorType: string, errorMessage: string, stackTrace: list<string>} $payload */
    private function reportOpenInvocationError(array $payload): void
    {
        if ($this->openRequestId === null) {
            return;
        }

        try {
            $this->reportInvocationError($this->openRequestId, $payload);
        } catch (RuntimeApiException $error) {
            $this->logger->error("Could not report the error of request {$this->openRequestId}: {$error->getMessage()}");
        }
    }

    /** @return array{errorType: string, errorMessage: string, stackTrace: list<string>} */
    private static function exitPayload(string $phase): array
    {
        $message = $phase === 'init'
            ? 'The handler file ended PHP with exit() or die() while it was loaded.'
            : 'The handler ended PHP with exit() or die() before returning a result. The runtime starts a new PHP process for the next event.';

        return ['errorType' => RuntimeError::EXIT_ERROR, 'errorMessage' => $message, 'stackTrace' => []];
    }
}
