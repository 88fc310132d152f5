using BRun.Diagnostics.Testing;

namespace BRun.Diagnostics.Web.Tests;

[CollectionDefinition(IntegrationEnvironment.Collection)]
public sealed class IntegrationCollection : ICollectionFixture<IntegrationEnvironment>;
