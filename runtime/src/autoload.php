<?php

declare(strict_types=1);

// Loads the runtime's classes on demand: LambdaRuntime\Name lives in Name.php beside this file.
spl_autoload_register(static function (string $class): void {
    $prefix = 'LambdaRuntime\\';
    if (!str_starts_with($class, $prefix)) {
        return;
    }

    $file = __DIR__ . '/' . substr($class, strlen($prefix)) . '.php';
    if (is_file($file)) {
        require $file;
    }
});
