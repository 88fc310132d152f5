using BRun.Diagnostics.Infrastructure.Auth;
using BRun.Diagnostics.Infrastructure.Batches;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Live;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Infrastructure.Users;
using BRun.Diagnostics.Testing;
using BRun.Diagnostics.Web.Auth;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace BRun.Diagnostics.Web.Tests;

/// <summary>
/// A bUnit context for pages that follow live events: a fresh database of their own, a running
/// <see cref="LiveEventHub"/> on the database's fake clock, and the services every signed-in page needs.
/// </summary>
public abstract class LiveDashboardTestContext(IntegrationEnvironment env) : DashboardTestContext
{
    /// <summary>The hub's batch window; advance <see cref="TestDatabase.Time"/> by it to deliver a batch.</summary>
    protected static readonly TimeSpan Window = TimeSpan.FromMilliseconds(250);

    // Bounds a wait for the hub's loop and the database on a busy machine; it asserts no speed.
    protected static readonly TimeSpan RenderWait = TimeSpan.FromSeconds(30);

    private TestDatabase? _db;
    private LiveEventHub? _hub;

    protected TestDatabase Db => _db!;

    protected LiveEventHub Hub => _hub!;

    public override async Task InitializeAsync()
    {
        _db = await env.CreateDatabaseAsync();
        _hub = new LiveEventHub(Options.Create(new LiveEventOptions { BatchWindow = Window }), Db.Time, NullLogger<LiveEventHub>.Instance);
        await Hub.StartAsync(CancellationToken.None);
    }

    protected override async Task DisposeContextAsync()
    {
        await base.DisposeContextAsync();
        await Hub.StopAsync(CancellationToken.None);
        Hub.Dispose();
        await Db.DisposeAsync();
    }

    /// <summary>Registers <paramref name="user"/> as the signed-in user, with the clock, connections and hub.</summary>
    protected CurrentUser RegisterSignedInUser(AppUser user)
    {
        var currentUser = new CurrentUser();
        currentUser.SetPrincipal(UserClaims.CreatePrincipal(user, "test"));
        Services.AddSingleton<ICurrentUser>(currentUser);
        Services.AddSingleton<TimeProvider>(Db.Time);
        Services.AddSingleton(Db.Get<IUserScopedConnectionFactory>());
        Services.AddSingleton(Hub);
        Services.AddSingleton<GenerationQueue>();
        Services.AddSingleton<MessageBatchStore>();
        RegisterDesignServices();
        return currentUser;
    }

    /// <summary>
    /// Registers <paramref name="user"/> as signed in, with what the runs pages need: the run services (dashboard,
    /// alerts, comparison) over the real stores.
    /// </summary>
    protected void RegisterRunPages(AppUser user)
    {
        Services.AddSingleton(RegisterSignedInUser(user));
        Services.AddSingleton(Db.Get<Infrastructure.Failures.FailedGenerationReader>());
        Services.AddSingleton(new RunStore(Db.Get<IUserScopedConnectionFactory>(), Db.Time));
        Services.AddSingleton<Infrastructure.Live.RunProgressReader>();
        Services.AddSingleton(new Infrastructure.RateLimits.RateLimitStore(Db.Get<IUserScopedConnectionFactory>()));
        Services.AddScoped<Web.Runs.RunDashboardService>();
        Services.AddSingleton(new Infrastructure.Alerts.RunAlertStore(Db.Get<IUserScopedConnectionFactory>()));
        Services.AddScoped<Web.Runs.RunAlertService>();
        Services.AddScoped<Web.Runs.RunComparisonService>();
    }
}
