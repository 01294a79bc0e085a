<?php

declare(strict_types=1);

require __DIR__ . '/../../runtime/src/autoload.php';
require __DIR__ . '/support/ScriptedServer.php';
require __DIR__ . '/support/TemporaryFiles.php';
