<?php

declare(strict_types=1);

namespace LambdaRuntime;

/**
 * The Runtime API is unreachable or returned a status after which the runtime cannot go on
 * (a failed /next request, any 500). The event loop ends the process when it catches one.
 */
final class RuntimeApiException extends \RuntimeException
{
}
