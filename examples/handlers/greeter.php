<?php

// A class method handler. _HANDLER=greeter.App\Greeter::greet loads greeter.php and calls
// greet() on one Greeter instance, created once per PHP process, so its properties keep their
// values from one invocation to the next (until Lambda starts a new sandbox).

declare(strict_types=1);

namespace App;

use LambdaRuntime\Context;

final class Greeter
{
    private int $greetings = 0;

    public function greet(array $event, Context $context): array
    {
        $this->greetings++;
        $context->logger->info('Greeting', ['name' => $event['name'] ?? null]);

        return [
            'message' => 'Hello, ' . ($event['name'] ?? 'world') . '!',
            'greetingsByThisInstance' => $this->greetings,
            'requestId' => $context->awsRequestId,
        ];
    }
}
