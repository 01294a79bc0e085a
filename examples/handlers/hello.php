<?php

// A plain function handler. _HANDLER=hello.handler calls handler() in hello.php.
// Invoked with {"name": "Ada"}, it returns {"message": "Hello, Ada!"}.

declare(strict_types=1);

use LambdaRuntime\Context;

function handler(array $event, Context $context): array
{
    $name = $event['name'] ?? 'world';

    return ['message' => "Hello, {$name}!"];
}
