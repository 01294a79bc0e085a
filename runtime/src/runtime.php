<?php

// Entry point that bootstrap starts: php runtime.php. The handler file is loaded right here,
// in the global scope, so its top-level variables are globals as in any PHP script. This file
// defines no global variables of its own except $initError when loading fails.

declare(strict_types=1);

use LambdaRuntime\EventLoop;

require __DIR__ . '/autoload.php';

EventLoop::boot();

try {
    EventLoop::current()->useHandlerFileResult(require EventLoop::current()->handlerFile());
} catch (\Throwable $initError) {
    EventLoop::current()->failInit($initError);
}

exit(EventLoop::current()->run());
