<?php

// A scripted HTTP/1.1 server for the runtime's PHPUnit tests, started by ScriptedServer:
//   php scripted-server.php SCRIPT_JSON LOG_JSONL
// It listens on 127.0.0.1 on a free port, prints "127.0.0.1:PORT" on stdout, and responds
// to requests with the script's steps in order, keeping connections open between requests
// (keep-alive). Each request is appended to the log as one JSON line with the number of the
// connection that carried it. It exits after the last step.
//
// A step is {"status": 200, "headers": {"Name": "value"}, "body": "...", "delayMs": 0,
// "raw": "HTTP/1.1 ..."}; "raw" replaces the generated response bytes.

declare(strict_types=1);

[, $scriptFile, $logFile] = $argv;
$steps = json_decode((string) file_get_contents($scriptFile), true, 512, JSON_THROW_ON_ERROR);
$log = fopen($logFile, 'ab');

$server = stream_socket_server('tcp://127.0.0.1:0', $errorCode, $errorMessage);
if ($server === false) {
    fwrite(STDERR, "scripted-server: cannot listen on 127.0.0.1: {$errorMessage}\n");
    exit(1);
}

echo stream_socket_get_name($server, false), "\n";
fflush(STDOUT);

$next = 0;
$connection = 0;

while ($next < count($steps)) {
    $client = @stream_socket_accept($server, 30);
    if ($client === false) {
        fwrite(STDERR, "scripted-server: no connection within 30 s, {$next} of " . count($steps) . " steps done\n");
        exit(1);
    }
    $connection++;

    while ($next < count($steps)) {
        $request = readRequest($client);
        if ($request === null) {
            break;
        }

        $request['connection'] = $connection;
        fwrite($log, json_encode($request, JSON_INVALID_UTF8_SUBSTITUTE) . "\n");
        fflush($log);

        $step = $steps[$next++];
        if (($step['delayMs'] ?? 0) > 0) {
            usleep($step['delayMs'] * 1000);
        }
        fwrite($client, $step['raw'] ?? buildResponse($step));
    }

    fclose($client);
}

/** @return array{method: string, path: string, headers: array<string, string>, body: string}|null null at end of stream */
function readRequest($client): ?array
{
    $requestLine = fgets($client);
    if ($requestLine === false || trim($requestLine) === '') {
        return null;
    }

    [$method, $path] = explode(' ', trim($requestLine), 3);
    $headers = [];
    while (($line = fgets($client)) !== false && trim($line) !== '') {
        [$name, $value] = explode(':', $line, 2);
        $headers[strtolower(trim($name))] = trim($value);
    }

    $body = '';
    $length = (int) ($headers['content-length'] ?? 0);
    while (strlen($body) < $length && !feof($client)) {
        $body .= fread($client, $length - strlen($body));
    }

    return ['method' => $method, 'path' => $path, 'headers' => $headers, 'body' => $body];
}

/** @param array{status?: int, headers?: array<string, string>, body?: string} $step */
function buildResponse(array $step): string
{
    $body = $step['body'] ?? '';
    $response = 'HTTP/1.1 ' . ($step['status'] ?? 200) . " Scripted\r\n";
    foreach ($step['headers'] ?? [] as $name => $value) {
        $response .= "{$name}: {$value}\r\n";
    }

    return $response . 'Content-Length: ' . strlen($body) . "\r\n\r\n" . $body;
}
