<?php

declare(strict_types=1);

namespace LambdaRuntime\Tests;

/**
 * Runs scripted-server.php in a child process on 127.0.0.1 and reads back the requests it
 * received. Every test that talks HTTP gets its own server.
 */
final class ScriptedServer
{
    /** @var resource */
    private $process;

    /** @var array<int, resource> */
    private array $pipes = [];

    private string $logFile;

    private string $scriptFile;

    /** host:port, the value for AWS_LAMBDA_RUNTIME_API */
    public readonly string $address;

    /** @param list<array<string, mixed>> $steps responses in order; see scripted-server.php */
    public function __construct(array $steps)
    {
        $this->scriptFile = tempnam(sys_get_temp_dir(), 'scripted-server-steps-');
        $this->logFile = tempnam(sys_get_temp_dir(), 'scripted-server-log-');
        file_put_contents($this->scriptFile, json_encode($steps, JSON_THROW_ON_ERROR));

        $command = [PHP_BINARY, '-n', __DIR__ . '/scripted-server.php', $this->scriptFile, $this->logFile];
        $process = proc_open($command, [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $this->pipes);
        if ($process === false) {
            throw new \RuntimeException('Cannot start scripted-server.php');
        }
        $this->process = $process;

        $line = fgets($this->pipes[1]);
        if ($line === false) {
            throw new \RuntimeException('scripted-server.php did not start: ' . stream_get_contents($this->pipes[2]));
        }
        $this->address = trim($line);
    }

    /** @return list<array{method: string, path: string, headers: array<string, string>, body: string, connection: int}> */
    public function requests(): array
    {
        $lines = file($this->logFile, FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES) ?: [];

        return array_map(static fn (string $line): array => json_decode($line, true, 512, JSON_THROW_ON_ERROR), $lines);
    }

    /** Stops the server if it still runs and deletes its files. */
    public function stop(): void
    {
        if (is_resource($this->process)) {
            proc_terminate($this->process);
            proc_close($this->process);
        }

        foreach ([$this->scriptFile, $this->logFile] as $file) {
            if (is_file($file)) {
                unlink($file);
            }
        }
    }

    public function __destruct()
    {
        $this->stop();
    }
}
