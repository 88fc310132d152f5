using BRun.Diagnostics.Infrastructure;
using BRun.Diagnostics.Infrastructure.Users;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace BRun.Diagnostics.Testing;

/// <summary>
/// An isolated database (a copy of the migrated template) and a unique blob container, dropped at dispose.
/// <see cref="Services"/> is the infrastructure wired to both, with a <see cref="FakeTimeProvider"/>.
/// </summary>
public sealed class TestDatabase : IAsyncDisposable
{
    private readonly IntegrationEnvironment _environment;
    private readonly List<ServiceProvider> _providers = [];
    private ServiceProvider? _services;

    internal TestDatabase(IntegrationEnvironment environment, string name)
    {
        _environment = environment;
        Name = name;
        ConnectionString = environment.Postgres.ConnectionString(name);
        ContainerName = "reports-" + Guid.NewGuid().ToString("N")[..12];
        DataSource = NpgsqlDataSource.Create(ConnectionString);
    }

    public string Name { get; }

    /// <summary>Superuser connection string to this database (pooled).</summary>
    public string ConnectionString { get; }

    public string ContainerName { get; }

    /// <summary>Superuser data source: for arranging and inspecting, bypassing row-level security.</summary>
    public NpgsqlDataSource DataSource { get; }

    /// <summary>Starts at 2026-03-01 12:00:00 UTC; advance it to move the stores' clock.</summary>
    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));

    /// <summary>The default wiring (created on first use).</summary>
    public IServiceProvider Services => _services ??= BuildServices();

    /// <summary>The settings <see cref="BuildServices"/> starts from; the retrier's background loop is off.</summary>
    public Dictionary<string, string?> Settings() => new()
    {
        ["ConnectionStrings:Postgres"] = ConnectionString,
        ["ConnectionStrings:Blobs"] = _environment.Azurite.ConnectionString,
        ["BlobStorage:ContainerName"] = ContainerName,
        // Fail fast while storage is down; the retrier owns retries.
        ["BlobStorage:MaxRetries"] = "0",
        ["BlobStorage:NetworkTimeout"] = "00:00:10",
        ["ReportUpload:RetrierEnabled"] = "false",
    };

    /// <summary>A separate provider with changed settings or extra services; disposed with this database.</summary>
    public ServiceProvider BuildServices(
        Action<Dictionary<string, string?>>? changeSettings = null,
        Action<IServiceCollection>? configureServices = null)
    {
        var settings = Settings();
        changeSettings?.Invoke(settings);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddSingleton<TimeProvider>(Time);
        services.AddDiagnosticsInfrastructure(configuration);
        configureServices?.Invoke(services);
        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        _providers.Add(provider);
        return provider;
    }

    public T Get<T>()
        where T : notnull => Services.GetRequiredService<T>();

    /// <summary>Creates a user with a unique email.</summary>
    public Task<AppUser> CreateUserAsync(string role = AppUserRoles.Member, string? name = null) =>
        Get<AppUserStore>().CreateAsync(
            $"{name ?? role}-{Guid.NewGuid():N}@example.test", name ?? role, role, CancellationToken.None);

    public async ValueTask DisposeAsync()
    {
        foreach (var provider in _providers)
        {
            await provider.DisposeAsync();
        }

        await DataSource.DisposeAsync();
        // FORCE ends connections still open from other pools (a host's, a process's); nobody reuses the name.
        await _environment.DropAsync(Name);
    }
}
