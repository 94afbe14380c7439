// Entitlements as C# values: copies of what a native page held, and the query that lists them.
using System.Collections.Generic;
using TwitchDrops.Native;

namespace TwitchDrops
{
    /// <summary>Where an entitlement stands.</summary>
    public enum FulfillmentStatus : uint
    {
        /// <summary>Earned by the viewer, not yet delivered by the game.</summary>
        Claimed = (uint)td_fulfillment_status.TD_CLAIMED,
        /// <summary>Delivered by the game.</summary>
        Fulfilled = (uint)td_fulfillment_status.TD_FULFILLED,
    }

    /// <summary>A reward a viewer earned: grant <see cref="BenefitId"/> to <see cref="UserId"/>,
    /// then mark it <see cref="FulfillmentStatus.Fulfilled"/>.</summary>
    public sealed class Entitlement
    {
        /// <summary>The entitlement's id.</summary>
        public string Id { get; private set; }
        /// <summary>The reward.</summary>
        public string BenefitId { get; private set; }
        /// <summary>The viewer.</summary>
        public string UserId { get; private set; }
        /// <summary>The game.</summary>
        public string GameId { get; private set; }
        /// <summary>When the viewer earned it (RFC 3339).</summary>
        public string Timestamp { get; private set; }
        /// <summary>When its status last changed (RFC 3339).</summary>
        public string LastUpdated { get; private set; }
        /// <summary>Its status.</summary>
        public FulfillmentStatus Status { get; private set; }

        /// <summary>The native entitlement this was copied from, when it is kept alive by
        /// <see cref="Owner"/> (an EventSub message's), so the engine can be given it.</summary>
        internal System.IntPtr Native;

        /// <summary>What keeps <see cref="Native"/> alive; null for a plain copy.</summary>
        internal NativeHandle Owner;

        internal static unsafe Entitlement Copy(td_entitlement* e, NativeHandle owner)
        {
            var copy = Copy(e);
            copy.Native = (System.IntPtr)e;
            copy.Owner = owner;
            return copy;
        }

        internal static unsafe Entitlement Copy(td_entitlement* e)
        {
            return new Entitlement
            {
                Id = Utf8.Of(NativeMethods.td_entitlement_id(e)),
                BenefitId = Utf8.Of(NativeMethods.td_entitlement_benefit_id(e)),
                UserId = Utf8.Of(NativeMethods.td_entitlement_user_id(e)),
                GameId = Utf8.Of(NativeMethods.td_entitlement_game_id(e)),
                Timestamp = Utf8.Of(NativeMethods.td_entitlement_timestamp(e)),
                LastUpdated = Utf8.Of(NativeMethods.td_entitlement_last_updated(e)),
                Status = (FulfillmentStatus)NativeMethods.td_entitlement_status(e),
            };
        }

        /// <summary>The id, reward, viewer and status (no credentials).</summary>
        public override string ToString()
        {
            return "Entitlement(" + Id + ", benefit " + BenefitId + ", user " + UserId + ", " + Status + ")";
        }
    }

    /// <summary>Filters for listing entitlements. Limits (at most 100 ids, <see cref="First"/>
    /// 1-1000) are the native library's: breaking one throws
    /// <see cref="DropsInvalidInputException"/> naming the field, before anything is sent.</summary>
    public sealed class EntitlementQuery
    {
        private readonly List<string> ids = new List<string>();

        /// <summary>Only these entitlement ids.</summary>
        public IList<string> Ids { get { return ids; } }
        /// <summary>Only this viewer's.</summary>
        public string UserId { get; set; }
        /// <summary>Only this game's.</summary>
        public string GameId { get; set; }
        /// <summary>Only entitlements in this status.</summary>
        public FulfillmentStatus? Status { get; set; }
        /// <summary>Page size (1-1000); Twitch's default when unset.</summary>
        public int? First { get; set; }
        /// <summary>The cursor to start after.</summary>
        public string After { get; set; }

        internal unsafe QueryHandle ToNative()
        {
            var query = new QueryHandle();
            query.Own((System.IntPtr)NativeMethods.td_entitlements_query_new());
            using (var lease = query.Use())
            {
                var q = (td_entitlements_query*)lease.Pointer;
                foreach (var id in ids)
                {
                    fixed (byte* p = Utf8.Z(id, "Ids[]")) Failures.Check(NativeMethods.td_entitlements_query_add_id(q, p), "add_id");
                }
                if (UserId != null)
                {
                    fixed (byte* p = Utf8.Z(UserId, "UserId")) Failures.Check(NativeMethods.td_entitlements_query_set_user_id(q, p), "set_user_id");
                }
                if (GameId != null)
                {
                    fixed (byte* p = Utf8.Z(GameId, "GameId")) Failures.Check(NativeMethods.td_entitlements_query_set_game_id(q, p), "set_game_id");
                }
                if (Status.HasValue)
                {
                    Failures.Check(NativeMethods.td_entitlements_query_set_status(q, (uint)Status.Value), "set_status");
                }
                if (First.HasValue)
                {
                    // Negative values wrap to a huge one, which the native check refuses.
                    Failures.Check(NativeMethods.td_entitlements_query_set_first(q, unchecked((uint)First.Value)), "set_first");
                }
                if (After != null)
                {
                    fixed (byte* p = Utf8.Z(After, "After")) Failures.Check(NativeMethods.td_entitlements_query_set_after(q, p), "set_after");
                }
            }
            return query;
        }
    }
}
