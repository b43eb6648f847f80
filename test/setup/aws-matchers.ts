// Registers the aws-sdk-client-mock matchers (toHaveReceivedCommand, ...) for every unit test.
import 'aws-sdk-client-mock-vitest/extend';
