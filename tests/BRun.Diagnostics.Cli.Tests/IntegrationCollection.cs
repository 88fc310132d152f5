using BRun.Diagnostics.Testing;

namespace BRun.Diagnostics.Cli.Tests;

[CollectionDefinition(IntegrationEnvironment.Collection)]
public sealed class IntegrationCollection : ICollectionFixture<IntegrationEnvironment>;
