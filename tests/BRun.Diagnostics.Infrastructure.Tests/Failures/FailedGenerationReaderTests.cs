using Dapper;
using BRun.Diagnostics.Core.Validation;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Infrastructure.Users;
using BRun.Diagnostics.Testing;

namespace BRun.Diagnostics.Infrastructure.Tests.Failures;

[Collection(IntegrationEnvironment.Collection)]
public sealed class FailedGenerationReaderTests(IntegrationEnvironment env)
{
    private static readonly CancellationToken None = CancellationToken.None;
    private static readonly Guid RunA = Guid.Parse("0195f0a0-0000-7000-8000-00000000000a");

    /// <summary>Four failures an hour apart, owned by one user, for filter tests.</summary>
    private sealed record Fixture(TestDatabase Db, Guid UserId, Guid Truncation, Guid Proxy, Guid Stream, Guid MaxTokens) : IAsyncDisposable
    {
        public DbIdentity Identity => DbIdentity.User(UserId);

        public async Task<IReadOnlyList<Guid>> ListIdsAsync(FailedGenerationFilter filter) =>
            (await Db.Get<FailedGenerationReader>().ListAsync(Identity, filter, new PageRequest(0, 100), None)).Items.Select(i => i.Id).ToList();

        public ValueTask DisposeAsync() => Db.DisposeAsync();
    }

    private async Task<Fixture> ArrangeAsync()
    {
        var db = await env.CreateDatabaseAsync();
        var user = await db.CreateUserAsync();
        var store = db.Get<FailedGenerationStore>();
        async Task<Guid> At(int hour, Core.Failures.FailedGenerationInput input)
        {
            db.Time.SetUtcNow(new DateTimeOffset(2026, 3, 1, hour, 0, 0, TimeSpan.Zero));
            return (await store.StoreAsync(input, user.Id, None)).Id;
        }

        var truncation = await At(13, FailureSamples.Truncation(runId: RunA));
        var proxy = await At(14, FailureSamples.ProxyError());
        var stream = await At(15, FailureSamples.CutStream() with { RunId = RunA });
        var maxTokens = await At(16, FailureSamples.MaxTokens());
        return new Fixture(db, user.Id, truncation, proxy, stream, maxTokens);
    }

    [Fact]
    public async Task List_returns_newest_first()
    {
        await using var f = await ArrangeAsync();

        Assert.Equal([f.MaxTokens, f.Stream, f.Proxy, f.Truncation], await f.ListIdsAsync(FailedGenerationFilter.None));
    }

    [Fact]
    public async Task List_filters_by_failure_type()
    {
        await using var f = await ArrangeAsync();

        Assert.Equal([f.Proxy], await f.ListIdsAsync(new() { FailureType = FailureType.ApiError }));
    }

    [Fact]
    public async Task List_filters_by_stop_reason()
    {
        await using var f = await ArrangeAsync();

        Assert.Equal([f.MaxTokens], await f.ListIdsAsync(new() { StopReason = "max_tokens" }));
    }

    [Fact]
    public async Task List_filters_rows_without_stop_reason()
    {
        await using var f = await ArrangeAsync();

        Assert.Equal([f.Stream, f.Proxy], await f.ListIdsAsync(new() { StopReason = FailureStatistics.NoStopReason }));
    }

    [Fact]
    public async Task List_filters_by_truncation_pattern()
    {
        await using var f = await ArrangeAsync();

        Assert.Equal([f.Stream], await f.ListIdsAsync(new() { TruncationPattern = "stream_cut" }));
    }

    [Fact]
    public async Task List_filters_by_run()
    {
        await using var f = await ArrangeAsync();

        Assert.Equal([f.Stream, f.Truncation], await f.ListIdsAsync(new() { RunId = RunA }));
    }

    [Fact]
    public async Task List_filters_by_creator()
    {
        await using var f = await ArrangeAsync();
        var admin = await f.Db.CreateUserAsync(Users.AppUserRoles.Admin);
        var adminsOwn = await f.Db.Get<FailedGenerationStore>().StoreAsync(FailureSamples.ProxyError(), admin.Id, None);

        var page = await f.Db.Get<FailedGenerationReader>().ListAsync(
            DbIdentity.User(admin.Id), new() { CreatedBy = admin.Id }, new PageRequest(), None);

        Assert.Equal([adminsOwn.Id], page.Items.Select(i => i.Id));
    }

    [Fact]
    public async Task List_filters_by_model()
    {
        await using var f = await ArrangeAsync();

        Assert.Equal([f.Proxy], await f.ListIdsAsync(new() { Model = "claude-haiku-4-5" }));
    }

    [Fact]
    public async Task List_filters_by_date_range_from_inclusive_to_exclusive()
    {
        await using var f = await ArrangeAsync();

        var ids = await f.ListIdsAsync(new()
        {
            From = new DateTimeOffset(2026, 3, 1, 14, 0, 0, TimeSpan.Zero),
            To = new DateTimeOffset(2026, 3, 1, 16, 0, 0, TimeSpan.Zero),
        });

        Assert.Equal([f.Stream, f.Proxy], ids);
    }

    [Fact]
    public async Task List_searches_truncation_details_and_error_message_case_insensitively()
    {
        await using var f = await ArrangeAsync();

        Assert.Equal([f.Truncation], await f.ListIdsAsync(new() { Query = "LONE BACKSLASH" }));
        Assert.Equal([f.Proxy], await f.ListIdsAsync(new() { Query = "bad gateway" }));
    }

    [Fact]
    public async Task A_search_finds_only_what_the_member_may_see_and_an_admin_finds_every_match()
    {
        await using var f = await ArrangeAsync();
        var other = await f.Db.CreateUserAsync();
        var admin = await f.Db.CreateUserAsync(Users.AppUserRoles.Admin);
        var othersProxy = await f.Db.Get<FailedGenerationStore>().StoreAsync(FailureSamples.ProxyError(), other.Id, None);
        var reader = f.Db.Get<FailedGenerationReader>();
        var search = new FailedGenerationFilter { Query = "bad gateway" };

        // The search is resolved to ids through the trigram indexes (migration 0087), which apply the read policy's
        // rule themselves: nothing of another member's may come through that way.
        var mine = await reader.ListAsync(f.Identity, search, new PageRequest(), None);
        var all = await reader.ListAsync(DbIdentity.User(admin.Id), search, new PageRequest(), None);

        static string Ids(Page<FailedGenerationSummary> page) => string.Join(",", page.Items.Select(i => i.Id));
        Assert.Equal(
            ($"{f.Proxy}", 1L, 1L, $"{othersProxy.Id},{f.Proxy}", 2L, 2L),
            (Ids(mine), mine.TotalCount, (await reader.GetChipFacetsAsync(f.Identity, search, None)).Total,
                Ids(all), all.TotalCount, await reader.CountAsync(DbIdentity.User(admin.Id), search, None)));
    }

    [Fact]
    public async Task Members_searching_the_same_term_at_once_each_get_only_their_own_matches()
    {
        await using var f = await ArrangeAsync();
        var other = await f.Db.CreateUserAsync();
        var othersProxy = (await f.Db.Get<FailedGenerationStore>().StoreAsync(FailureSamples.ProxyError(), other.Id, None)).Id;
        var reader = f.Db.Get<FailedGenerationReader>();
        var search = new FailedGenerationFilter { Query = "bad gateway" };

        // Pages and counts of both members interleaved: a resolution answered for the wrong user would show up here.
        var reads = Enumerable.Range(0, 24).Select(async i =>
        {
            var (user, expected) = i % 2 == 0 ? (f.Identity, f.Proxy) : (DbIdentity.User(other.Id), othersProxy);
            var page = await reader.ListPageAsync(user, search, FailedGenerationSort.NewestFirst, new PageRequest(), None);
            var facets = await reader.GetChipFacetsAsync(user, search, None);
            return (Ok: page.Count == 1 && page[0].Id == expected && facets.Total == 1, i);
        });

        Assert.All(await Task.WhenAll(reads), r => Assert.True(r.Ok, $"read {r.i}"));
    }

    [Fact]
    public async Task A_search_left_to_the_rows_lists_and_counts_the_same_matches()
    {
        await using var f = await ArrangeAsync();
        var reader = f.Db.Get<FailedGenerationReader>();
        // Maintenance gets no resolved ids (as a broad term does not): the page walks the sort's index with table
        // scans ruled out, the counts read the rows.
        var search = new FailedGenerationFilter { Query = "ENDS" };

        var newest = await reader.ListPageAsync(DbIdentity.System, search, FailedGenerationSort.NewestFirst, new PageRequest(0, 1), None);
        var fewest = await reader.ListPageAsync(DbIdentity.System, search, FailedGenerationSort.FewestOutputTokens, new PageRequest(), None);
        var list = await reader.ListAsync(DbIdentity.System, search, new PageRequest(), None);
        var facets = await reader.GetChipFacetsAsync(DbIdentity.System, search, None);

        Assert.Equal(
            ($"{f.MaxTokens}", $"{f.Truncation},{f.MaxTokens}", $"{f.MaxTokens},{f.Truncation}", 2L, 2L),
            ($"{newest.Single().Id}", string.Join(",", fewest.Select(r => r.Id)), string.Join(",", list.Items.Select(i => i.Id)), list.TotalCount, facets.Total));
    }

    [Theory]
    [InlineData(FailedGenerationSort.NewestFirst, "created_at DESC, id DESC")]
    [InlineData(FailedGenerationSort.OldestFirst, "created_at ASC, id ASC")]
    [InlineData(FailedGenerationSort.MostOutputTokens, "output_tokens DESC NULLS LAST, id DESC")]
    [InlineData(FailedGenerationSort.FewestOutputTokens, "output_tokens ASC NULLS FIRST, id ASC")]
    public async Task A_page_in_the_far_half_holds_the_same_rows_as_its_offset(FailedGenerationSort sort, string orderBy)
    {
        await using var db = await env.CreateDatabaseAsync();
        var owner = await db.CreateUserAsync();
        var other = await db.CreateUserAsync();
        // More rows than PageSql's fence reads whole, pairs sharing an instant and token counts repeating (ties the id
        // decides), some without a count (NULLS LAST/FIRST), and another member's rows in between.
        var count = (int)FailedGenerationReader.FewMatches + 10;
        await using (var c = await db.DataSource.OpenConnectionAsync())
        {
            await c.ExecuteAsync("""
                INSERT INTO failed_generations (id, prompt, prompt_length, model, max_tokens, raw_response, raw_body, stop_reason,
                    output_tokens, http_status, streamed, failure_type, truncation_pattern, detection_confidence, created_at, created_by)
                SELECT gen_random_uuid(), 'p', 1, 'claude-sonnet-4-5', 4096, '{}'::jsonb, '{}', 'end_turn',
                       CASE WHEN g % 50 = 0 THEN NULL ELSE g % 700 END, 200, false, 'truncation', 'mid_word', 'high',
                       timestamptz '2026-03-01 00:00:00+00' + (g / 2) * interval '1 minute',
                       CASE WHEN g % 7 = 0 THEN @other ELSE @owner END
                FROM generate_series(1, @rows) AS g
                """, new { owner = owner.Id, other = other.Id, rows = count + (count / 6) + 1 });
        }

        await using var connection = await db.Get<IUserScopedConnectionFactory>().OpenAsync(DbIdentity.User(owner.Id), None);
        var all = (await connection.QueryAsync<Guid>($"SELECT id FROM failed_generations ORDER BY {orderBy}")).ToList();
        var reader = db.Get<FailedGenerationReader>();
        const int Size = 25;
        var last = (all.Count - 1) / Size;

        // The last page (partial), the one before it, the first page past the middle, and the last before it.
        var pages = new[] { last, last - 1, (all.Count / 2 / Size) + 1, all.Count / 2 / Size };
        foreach (var index in pages)
        {
            var rows = await reader.ListPageAsync(DbIdentity.User(owner.Id), new FailedGenerationFilter(), sort, new PageRequest(index, Size), None);
            Assert.Equal(all.Skip(index * Size).Take(Size), rows.Select(r => r.Id));
        }

        Assert.True(all.Count > FailedGenerationReader.FewMatches && all.Count % Size != 0, $"{all.Count} visible rows");
    }

    /// <summary>
    /// Rows over seventeen UTC days for the skip by day: pairs sharing an instant, rows at exactly midnight, a day with no
    /// rows, a day whose rows were all deleted (its rollup rows are kept at zero), two failure types and another
    /// member's rows in between. About 960 rows a day.
    /// </summary>
    private static async Task<(AppUser Owner, AppUser Admin)> ArrangeDaysAsync(TestDatabase db)
    {
        var owner = await db.CreateUserAsync();
        var other = await db.CreateUserAsync();
        var admin = await db.CreateUserAsync(AppUserRoles.Admin);
        await using var c = await db.DataSource.OpenConnectionAsync();
        await c.ExecuteAsync("""
            INSERT INTO failed_generations (id, prompt, prompt_length, model, max_tokens, raw_response, raw_body, stop_reason,
                output_tokens, http_status, streamed, failure_type, truncation_pattern, detection_confidence, created_at, created_by)
            SELECT gen_random_uuid(), 'p', 1, 'claude-sonnet-4-5', 4096, '{}'::jsonb, '{}', 'end_turn', g % 700, 200, false,
                   CASE WHEN g % 3 = 0 THEN 'api_error' ELSE 'truncation' END, 'mid_word', 'high',
                   timestamptz '2026-03-01 00:00:00+00' + (g / 2) * interval '3 minutes'
                       + CASE WHEN g > 3000 THEN interval '1 day' ELSE interval '0' END,
                   CASE WHEN g % 7 = 0 THEN @other ELSE @owner END
            FROM generate_series(0, 14400) AS g;
            DELETE FROM failed_generations WHERE created_at >= '2026-03-06 00:00:00+00' AND created_at < '2026-03-07 00:00:00+00';
            """, new { owner = owner.Id, other = other.Id });
        return (owner, admin);
    }

    [Theory]
    [InlineData(FailedGenerationSort.NewestFirst, "created_at DESC, id DESC")]
    [InlineData(FailedGenerationSort.OldestFirst, "created_at ASC, id ASC")]
    public async Task A_deep_page_in_date_order_skips_whole_days_and_holds_the_rows_of_its_offset(FailedGenerationSort sort, string orderBy)
    {
        await using var db = await env.CreateDatabaseAsync();
        var (owner, admin) = await ArrangeDaysAsync(db);
        var reader = db.Get<FailedGenerationReader>();
        var filters = new (string Sql, FailedGenerationFilter Filter)[]
        {
            ("true", new FailedGenerationFilter()),
            // A chip and a day-aligned range: the rollup answers both.
            ("failure_type = 'truncation' AND created_at >= '2026-03-02' AND created_at < '2026-03-14'", new FailedGenerationFilter
            {
                FailureType = FailureType.Truncation,
                From = new DateTimeOffset(2026, 3, 2, 0, 0, 0, TimeSpan.Zero),
                To = new DateTimeOffset(2026, 3, 14, 0, 0, 0, TimeSpan.Zero),
            }),
        };

        var checkedPages = 0;
        foreach (var identity in new[] { DbIdentity.User(owner.Id), DbIdentity.User(admin.Id) })
        {
            await using var connection = await db.Get<IUserScopedConnectionFactory>().OpenAsync(identity, None);
            foreach (var (sql, filter) in filters)
            {
                var all = (await connection.QueryAsync<Guid>($"SELECT id FROM failed_generations WHERE {sql} ORDER BY {orderBy}")).ToList();
                Assert.True(all.Count > FailedGenerationReader.FewMatches, $"{all.Count} rows");
                foreach (var size in new[] { 25, 100 })
                {
                    // Every page from the first deep one to the last, in steps that land on every place within a day.
                    for (var index = (int)(FailedGenerationReader.SkipByDayFrom / size); index * size < all.Count; index += size == 25 ? 7 : 3)
                    {
                        var rows = await reader.ListPageAsync(identity, filter, sort, new PageRequest(index, size), None);
                        Assert.Equal(all.Skip(index * size).Take(size), rows.Select(r => r.Id));
                        checkedPages++;
                    }
                }
            }
        }

        Assert.True(checkedPages > 200, $"{checkedPages} pages");
    }

    [Fact]
    public async Task The_APIs_deep_pages_skip_whole_days_and_hold_the_rows_of_their_offset()
    {
        await using var db = await env.CreateDatabaseAsync();
        var (owner, _) = await ArrangeDaysAsync(db);
        var identity = DbIdentity.User(owner.Id);
        await using var connection = await db.Get<IUserScopedConnectionFactory>().OpenAsync(identity, None);
        var all = (await connection.QueryAsync<Guid>("SELECT id FROM failed_generations ORDER BY created_at DESC, id DESC")).ToList();
        var reader = db.Get<FailedGenerationReader>();

        foreach (var index in new[] { 40, 41, 57, 70, 99, 160, 200, (all.Count - 1) / 50 })
        {
            var page = await reader.ListAsync(identity, new FailedGenerationFilter(), new PageRequest(index, 50), None);
            Assert.Equal(
                (string.Join(",", all.Skip(index * 50).Take(50)), (long)all.Count),
                (string.Join(",", page.Items.Select(i => i.Id)), page.TotalCount));
        }
    }

    [Theory]
    [InlineData(FailedGenerationSort.NewestFirst)]
    [InlineData(FailedGenerationSort.OldestFirst)]
    public async Task A_deep_page_reads_at_most_a_days_rows_of_the_date_index(FailedGenerationSort sort)
    {
        await using var db = await env.CreateDatabaseAsync();
        var (owner, _) = await ArrangeDaysAsync(db);
        await using var connection = await db.Get<IUserScopedConnectionFactory>().OpenAsync(DbIdentity.User(owner.Id), None);
        var total = await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM failed_generations");
        const long Offset = 4_000;

        async Task<long> RowsReadAsync(string sql)
        {
            var plan = await connection.ExecuteScalarAsync<string>(
                "EXPLAIN (ANALYZE, FORMAT JSON) " + sql, new { limit = 25, offset = Offset });
            // Every scan of failed_generations in the plan, by the rows it returned (the walk returns what it skips).
            return System.Text.RegularExpressions.Regex.Matches(plan!, "\"Relation Name\": \"failed_generations\"[^}]*?\"Actual Rows\": (\\d+)")
                .Sum(m => long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        }

        var skipping = await RowsReadAsync(FailedGenerationReader.PageSql(string.Empty, sort, total, Offset, rollupWhere: string.Empty));
        var walking = await RowsReadAsync(FailedGenerationReader.PageSql(string.Empty, sort, total, Offset));

        // About 820 of the member's rows a day: the skip starts at the page's day, the plain offset walks 4,025 rows.
        Assert.True(skipping <= 1_000 && walking >= Offset + 25, $"skipping {skipping}, walking {walking}");
    }

    [Theory]
    [InlineData(0, 25, 5010L, "NewestFirst 25 0 False")]
    [InlineData(100, 25, 5010L, "NewestFirst 25 2500 False")]
    [InlineData(101, 25, 5010L, "OldestFirst 25 2460 True")]
    [InlineData(200, 25, 5010L, "OldestFirst 10 0 True")]
    [InlineData(199, 25, 5010L, "OldestFirst 25 10 True")]
    [InlineData(199, 25, null, "NewestFirst 25 4975 False")]
    [InlineData(3, 25, 100L, "NewestFirst 25 75 False")]
    public void A_page_is_read_from_the_nearer_end_of_many_known_matches(int index, int size, long? total, string expected)
    {
        var (sort, limit, offset, reversed) = FailedGenerationReader.PageReadPlan(FailedGenerationSort.NewestFirst, new PageRequest(index, size), total);

        Assert.Equal(expected, $"{sort} {limit} {offset} {reversed}");
    }

    [Fact]
    public async Task A_broad_terms_page_walks_the_sort_index_in_one_process()
    {
        await using var f = await ArrangeAsync();
        await using var connection = await f.Db.Get<IUserScopedConnectionFactory>().OpenAsync(f.Identity, None);
        // Costs under which the walk goes parallel, as it did at a million rows (where starting two workers took
        // 14-30 ms of a 0.3 ms read): workers free to start, the filter dear to evaluate.
        await connection.ExecuteAsync("""
            SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
            SET min_parallel_index_scan_size = 0; SET cpu_operator_cost = 10;
            """);
        var sql = "EXPLAIN (COSTS OFF) " + FailedGenerationReader.PageSql(
            "WHERE (truncation_details ILIKE @q OR error_message ILIKE @q)", FailedGenerationSort.NewestFirst, total: null);
        async Task<string> PlanAsync((string Name, string Value)[] settings) => string.Join(" ", await FailedGenerationReader.QueryWithPlannerSettingsAsync<string>(
            connection, new CommandDefinition(sql, new { q = "%ends%", limit = 25, offset = 0 }, cancellationToken: None), settings));

        var tableScansOnlyOff = await PlanAsync([.. FailedGenerationReader.PageWalkSettings.Where(s => s.Name.StartsWith("enable_", StringComparison.Ordinal))]);
        var walk = await PlanAsync(FailedGenerationReader.PageWalkSettings);

        // The settings held for the statement only: the session's own are back after it.
        Assert.Equal(
            (true, false, true, "2"),
            (tableScansOnlyOff.Contains("Gather", StringComparison.Ordinal), walk.Contains("Gather", StringComparison.Ordinal),
                walk.Contains("Index Scan", StringComparison.Ordinal),
                await connection.ExecuteScalarAsync<string>("SHOW max_parallel_workers_per_gather")));
    }

    [Fact]
    public async Task The_search_function_leaves_a_broad_term_and_maintenance_to_the_row_scan()
    {
        await using var f = await ArrangeAsync();
        var connections = f.Db.Get<IUserScopedConnectionFactory>();
        async Task<Guid[]?> MatchesAsync(DbIdentity identity, string pattern, int max)
        {
            await using var connection = await connections.OpenAsync(identity, None);
            return await Dapper.SqlMapper.ExecuteScalarAsync<Guid[]?>(connection, "SELECT brun_failed_generation_text_matches(@pattern, @max)", new { pattern, max });
        }

        // "%a%" matches all four rows' details or messages.
        var few = await MatchesAsync(f.Identity, "%bad gateway%", 10);
        var broad = await MatchesAsync(f.Identity, "%a%", 3);
        var underTheLimit = await MatchesAsync(f.Identity, "%a%", 4);
        var maintenance = await MatchesAsync(DbIdentity.System, "%bad gateway%", 10);

        Assert.Equal(
            ($"{f.Proxy}", true, 4, true),
            (string.Join(",", few ?? []), broad is null, underTheLimit?.Length ?? -1, maintenance is null));
    }

    [Fact]
    public async Task List_search_treats_like_wildcards_literally()
    {
        await using var f = await ArrangeAsync();

        Assert.Empty(await f.ListIdsAsync(new() { Query = "%" }));
    }

    [Fact]
    public async Task List_pages_with_the_total_of_all_matches()
    {
        await using var f = await ArrangeAsync();
        var reader = f.Db.Get<FailedGenerationReader>();

        var second = await reader.ListAsync(f.Identity, FailedGenerationFilter.None, new PageRequest(1, 3), None);

        Assert.Equal([f.Truncation], second.Items.Select(i => i.Id));
        Assert.Equal(4, second.TotalCount);
    }

    [Fact]
    public async Task List_past_the_last_page_is_empty_but_keeps_the_total()
    {
        await using var f = await ArrangeAsync();

        var page = await f.Db.Get<FailedGenerationReader>().ListAsync(f.Identity, FailedGenerationFilter.None, new PageRequest(5, 3), None);

        Assert.Equal((0, 4L), (page.Items.Count, page.TotalCount));
    }

    [Fact]
    public async Task Statistics_count_by_type_stop_reason_and_pattern()
    {
        await using var f = await ArrangeAsync();

        var stats = await f.Db.Get<FailedGenerationReader>().GetStatisticsAsync(f.Identity, FailedGenerationFilter.None, None);

        Assert.Equal(4, stats.Total);
        Assert.Equal(new Dictionary<string, long> { ["api_error"] = 1, ["truncation"] = 3 }, stats.ByFailureType);
        Assert.Equal(new Dictionary<string, long> { ["(none)"] = 2, ["end_turn"] = 1, ["max_tokens"] = 1 }, stats.ByStopReason);
        Assert.Equal(new Dictionary<string, long> { ["lone_backslash"] = 1, ["mid_word"] = 1, ["stream_cut"] = 1 }, stats.ByTruncationPattern);
    }

    [Fact]
    public async Task Statistics_respect_the_filter()
    {
        await using var f = await ArrangeAsync();

        var stats = await f.Db.Get<FailedGenerationReader>().GetStatisticsAsync(f.Identity, new() { RunId = RunA }, None);

        Assert.Equal(2, stats.Total);
        Assert.Equal(new Dictionary<string, long> { ["truncation"] = 2 }, stats.ByFailureType);
    }
}
