using BRun.Diagnostics.Testing;

namespace BRun.Diagnostics.Web.Tests;

[CollectionDefinition(IntegrationEnvironment.Collection)]
public sealed class IntegrationCollection : ICollectionFixture<IntegrationEnvironment>;

/// <summary>
/// Runs beside <see cref="IntegrationCollection"/> on the same servers: a web test spends much of its time waiting on
/// a host, a database or a browser, and one line of tests left a core idle a third of the time. The API and failure
/// tests are here (about half of the suite's time); none stops a server.
/// </summary>
[CollectionDefinition(IntegrationEnvironment.ParallelCollection)]
public sealed class ParallelIntegrationCollection : ICollectionFixture<IntegrationEnvironment>;
