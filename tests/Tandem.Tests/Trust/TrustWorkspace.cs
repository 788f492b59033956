using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Tandem.Hosting;
using Tandem.Storage.Sqlite;
using Tandem.Tests.Support;
using Tandem.Trust;

namespace Tandem.Tests.Trust;

/// <summary>
/// The members, tokens and sessions services over a data folder of their own, with a fake clock and a
/// cheap password hasher (PBKDF2 at full strength would make each sign-in a tenth of a second).
/// </summary>
internal sealed class TrustWorkspace : IDisposable
{
    public const string Password = "correct horse battery staple";

    private readonly string _directory = Directory.CreateTempSubdirectory("tandem-trust-").FullName;
    private readonly ServiceProvider _meters = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly TrustMetrics _metrics;
    private readonly SqliteMemberStore _memberStore;
    private readonly SqliteTokenStore _tokenStore;

    public TrustWorkspace()
    {
        var options = new TandemOptions { DataDirectory = _directory };
        Audit = TestAudit.Open(options, Clock);
        _memberStore = SqliteMemberStore.Open(_directory);
        _tokenStore = SqliteTokenStore.Open(_directory);
        Registry = new(_memberStore, Clock, new PlainPasswordHasher());
        Tokens = new(_tokenStore, Clock);
        _metrics = new(_meters.GetRequiredService<IMeterFactory>());
        var admins = new AdminContinuity();
        Members = new(Registry, Tokens, admins, Audit);
        TokensService = new(Tokens, Registry, admins, Audit, Clock);
        Sessions = new(Registry, Audit, _metrics);
    }

    public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 12, 5, 12, 0, 0, TimeSpan.Zero));

    public AuditLog Audit { get; }

    public MemberRegistry Registry { get; }

    public TokenRegistry Tokens { get; }

    public MembersService Members { get; }

    public TokensService TokensService { get; }

    public SessionsService Sessions { get; }

    /// <summary>The first admin token of a new workspace, as the caller it authenticates as.</summary>
    public Caller FirstAdminToken()
    {
        Tokens.CreateFirstAdminToken("tdm_" + new string('a', 40));
        return TokenCaller(TokenRegistry.FirstAdminTokenId, Scopes.All);
    }

    public Member AddMember(string email, params string[] roles) => Registry.Add(email, email.Split('@')[0], roles, Password)!;

    public static Caller SessionOf(Member member) => new("member:" + member.Id, member.Id, member.Scopes, false, null);

    public static Caller TokenCaller(string tokenId, params string[] scopes) =>
        new("token:" + tokenId, null, scopes.ToHashSet(StringComparer.Ordinal), true, null);

    public IReadOnlyList<AuditRecord> Audited(string action) => Audit.Query(new AuditQuery(Action: action)).Records;

    public void Dispose()
    {
        _memberStore.Dispose();
        _tokenStore.Dispose();
        Audit.Dispose();
        _metrics.Dispose();
        _meters.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}

/// <summary>
/// Each workspace's audit log counts into the process-wide "Tandem.Audit" meter, so these tests run
/// apart from the test servers whose /metrics answers other tests read exact values from.
/// </summary>
[CollectionDefinition(nameof(TrustWorkspace), DisableParallelization = true)]
public sealed class TrustServicesRunAlone;
