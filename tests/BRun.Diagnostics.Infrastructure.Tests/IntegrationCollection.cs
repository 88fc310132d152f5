using BRun.Diagnostics.Testing;

namespace BRun.Diagnostics.Infrastructure.Tests;

[CollectionDefinition(IntegrationEnvironment.Collection)]
public sealed class IntegrationCollection : ICollectionFixture<IntegrationEnvironment>;
