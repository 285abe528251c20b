package cmd

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	sdkclient "github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/cosmos/cosmos-sdk/client/tx"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/app"
	"github.com/stratusnet/stratus/client"
	storagetypes "github.com/stratusnet/stratus/x/storage/types"
)

func storageCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "storage",
		Short: "Store files with providers and get them back (encrypted, verified)",
		RunE:  sdkclient.ValidateCmd,
	}
	addProviderCAFlag(cmd)
	cmd.AddCommand(putCmd(), getCmd(), lsCmd(), dealStatusCmd(), auditCmd())
	return cmd
}

func putCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "put [file]",
		Short: "Encrypt a file, create a storage deal for it, upload it and wait until every slot is committed",
		Long: `Encrypts FILE with your storage key (created in the client home on first
use: back it up, files cannot be read without it) and stores the ciphertext
with providers, paying up to --max-price per GiB per block for each slot.

By default the file is erasure-coded (--scheme 6+3): cut into 6 data shards
and 3 Reed-Solomon parity shards, one per provider. Any 6 of the 9 rebuild
the file, so it survives 3 lost providers while storing 1.5x its size. The
data shards are uploaded in parallel (together, the file once); the parity
holders rebuild their shards from them, each checked against its own root
before it is committed. --direct uploads the parity shards too.

--replicas N keeps N full copies instead: the ciphertext goes once to the
first provider, and the others copy it. 4+2 stores as little as 6+3 but is
less durable than 3 replicas (docs/durability.md); small networks without 9
providers can use --scheme 2+1 or --replicas.

Waits until every slot has verified and committed its bytes, then prints the
deal id. An upload that is cut off (connection lost, command killed)
resumes: run the same put again on the same unchanged file while the deal is
pending, and only the bytes a provider does not hold yet are sent. Until
every slot is committed, what is sent is kept in the client home's uploads/.`,
		Example: `stratusd storage put photo.jpg --duration 100000 --from alice
  stratusd storage put photo.jpg --scheme 10+5 --from alice
  stratusd storage put photo.jpg --replicas 3 --from alice`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cctx, err := sdkclient.GetClientTxContext(cmd)
			if err != nil {
				return err
			}
			txf, err := tx.NewFactoryCLI(cctx, cmd.Flags())
			if err != nil {
				return err
			}
			if err := requireFrom(cctx); err != nil {
				return err
			}
			f := cmd.Flags()
			replicas, _ := f.GetUint32("replicas")
			var k, m uint32
			if !f.Changed("replicas") {
				scheme, _ := f.GetString("scheme")
				if k, m, err = client.ParseScheme(scheme); err != nil {
					return fmt.Errorf("--%w", err)
				}
			}
			direct, _ := f.GetBool("direct")
			duration, _ := f.GetUint64("duration")
			priceS, _ := f.GetString("max-price")
			maxPrice, err := sdk.ParseDecCoin(priceS)
			if err != nil {
				return fmt.Errorf("--max-price %q: %w", priceS, err)
			}
			timeout, _ := f.GetDuration("wait-timeout")
			public, _ := f.GetBool("public")
			var rate uint64
			if s, _ := f.GetString("limit-rate"); s != "" {
				if rate, err = client.ParseBytes(s); err != nil {
					return fmt.Errorf("--limit-rate: %w", err)
				}
			}
			sdkc, err := newSDK(cmd, cctx, simulatedGas(cmd, txf))
			if err != nil {
				return err
			}
			res, err := sdkc.Put(cmd.Context(), args[0], client.PutOptions{
				Replicas: replicas, DataShards: k, ParityShards: m, Direct: direct,
				Duration: duration, MaxPrice: maxPrice, Timeout: timeout, Public: public, RateLimit: rate,
			})
			if err != nil {
				return err
			}
			cmd.Println(res.DealID)
			return nil
		},
	}
	flags.AddTxFlagsToCmd(cmd)
	cmd.Flags().String("scheme", "6+3", "erasure code K+M: K data and M parity shards on K+M providers, any K rebuild the file")
	cmd.Flags().Uint32("replicas", 3, "keep this many full copies instead of erasure-coding the file")
	cmd.Flags().Bool("direct", false, "upload the parity shards from here too, instead of letting their providers rebuild them")
	cmd.Flags().Uint64("duration", 100_000, "blocks to keep the file")
	cmd.Flags().String("max-price", "1000"+app.BondDenom, "most you pay per replica per GiB per block")
	cmd.Flags().Duration("wait-timeout", 5*time.Minute, "how long to wait for every replica to commit")
	cmd.Flags().Bool("public", false, "store the file as it is, unencrypted: anyone can read it (compute jobs read inputs as stored)")
	cmd.Flags().String("limit-rate", "", "upload at most this many bytes a second, e.g. 10MiB (default: as fast as the link goes)")
	return cmd
}

// simulatedGas makes txf simulate for gas unless --gas gives a number, with
// 1.5 headroom unless --gas-adjustment says otherwise.
func simulatedGas(cmd *cobra.Command, txf tx.Factory) tx.Factory {
	f := cmd.Flags()
	if g, _ := f.GetString(flags.FlagGas); !f.Changed(flags.FlagGas) || g == flags.GasFlagAuto {
		txf = txf.WithSimulateAndExecute(true)
	}
	if !f.Changed(flags.FlagGasAdjustment) {
		txf = txf.WithGasAdjustment(1.5)
	}
	return txf
}

func getCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "get [deal-id]",
		Short: "Download a deal's file from any replica, verify every byte and decrypt it",
		Long: `Downloads the ciphertext from a provider that holds a committed replica,
checks it against the deal's Merkle root (trying the next provider on any
failure or mismatch), and decrypts it with your storage key into -o. The
output name only ever appears once the whole file is verified and decrypted.`,
		Example: "stratusd storage get 12 -o photo.jpg --from alice",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cctx, err := sdkclient.GetClientQueryContext(cmd)
			if err != nil {
				return err
			}
			id, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil {
				return fmt.Errorf("deal id %q: %w", args[0], err)
			}
			outPath, _ := cmd.Flags().GetString("output-file")
			if outPath == "" {
				return errors.New("-o/--output-file is required")
			}
			cctx, err = signingContext(cmd, cctx)
			if err != nil {
				return err
			}
			sdkc, err := newSDK(cmd, cctx, tx.Factory{})
			if err != nil {
				return err
			}
			return sdkc.Get(cmd.Context(), id, outPath)
		},
	}
	// Not AddQueryFlagsToCmd: its -o is the output format, and -o here is the file.
	cmd.Flags().String(flags.FlagNode, "", "<host>:<port> to the CometBFT RPC of a node (default from client.toml)")
	cmd.Flags().StringP("output-file", "o", "", "where to write the decrypted file")
	addSignerFlags(cmd, "a private deal is served only to its owner")
	return cmd
}

func lsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "ls [owner]",
		Short:   "List your deals (or an owner's)",
		Example: "stratusd storage ls --from alice",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cctx, err := sdkclient.GetClientQueryContext(cmd)
			if err != nil {
				return err
			}
			owner, err := ownerArg(cmd, cctx, args)
			if err != nil {
				return err
			}
			deals, err := client.DealsOf(cmd.Context(), cctx, owner) // every page
			if err != nil {
				return err
			}
			res := &storagetypes.QueryDealsByOwnerResponse{Deals: deals}
			if cctx.OutputFormat == flags.OutputFormatJSON {
				return cctx.PrintProto(res)
			}
			if len(res.Deals) == 0 {
				cmd.Printf("%s has no deals\n", owner)
				return nil
			}
			cmd.Printf("%-6s %-10s %-10s %-9s %-10s %s\n", "DEAL", "STATUS", "SIZE", "REPLICAS", "ENDS", "ESCROW")
			for _, d := range res.Deals {
				cmd.Printf("%-6d %-10s %-10s %-9d %-10d %s\n", d.Id, client.ShortStatus(d.Status.String()), client.HumanBytes(d.Size_), d.Replicas, d.EndHeight, d.Escrow)
			}
			return nil
		},
	}
	flags.AddQueryFlagsToCmd(cmd)
	cmd.Flags().String(flags.FlagFrom, "", "key whose deals to list")
	cmd.Flags().String(flags.FlagKeyringBackend, flags.DefaultKeyringBackend, "keyring backend")
	return cmd
}

// ownerArg is the owner address given as the only argument, or the address
// of the --from key.
func ownerArg(cmd *cobra.Command, cctx sdkclient.Context, args []string) (string, error) {
	if len(args) == 1 {
		return args[0], nil
	}
	from, _ := cmd.Flags().GetString(flags.FlagFrom)
	if from == "" {
		return "", errors.New("give an owner address or --from a key")
	}
	addr, _, _, err := sdkclient.GetFromFields(cctx, cctx.Keyring, from)
	if err != nil {
		return "", err
	}
	return addr.String(), nil
}

// requireFrom checks a transaction command was given a signing key.
func requireFrom(cctx sdkclient.Context) error {
	if cctx.FromAddress.Empty() {
		return errors.New("--from is required: the key that signs and pays")
	}
	return nil
}

func dealStatusCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status [deal-id]",
		Short: "Show a deal: its code, its slots, their payments and missed proofs, and the escrow left",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cctx, err := sdkclient.GetClientQueryContext(cmd)
			if err != nil {
				return err
			}
			id, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil {
				return fmt.Errorf("deal id %q: %w", args[0], err)
			}
			q := storagetypes.NewQueryClient(cctx)
			d, err := q.Deal(cmd.Context(), &storagetypes.QueryDealRequest{DealId: id})
			if err != nil {
				return err
			}
			w, err := q.Window(cmd.Context(), &storagetypes.QueryWindowRequest{})
			if err != nil {
				return err
			}
			if cctx.OutputFormat == flags.OutputFormatJSON {
				return cctx.PrintProto(d)
			}
			deal := d.Deal
			cmd.Printf("deal %d  %s  owner %s\n", deal.Id, client.ShortStatus(deal.Status.String()), deal.Owner)
			cmd.Printf("size %s (%d bytes), root %x\n", client.HumanBytes(deal.Size_), deal.Size_, deal.Root)
			cmd.Printf("created at %d, ends at %d; escrow left %s; max price %s%s per GiB per block\n", deal.CreatedHeight, deal.EndHeight, deal.Escrow, trimDec(deal.MaxPrice.Amount.String()), deal.MaxPrice.Denom)
			if sc := deal.Scheme(); sc.Erasure() {
				cmd.Printf("erasure-coded %d+%d: %d shards of %s, any %d rebuild the file (%.2fx the bytes)\n",
					sc.K, sc.M, sc.N(), client.HumanBytes(sc.ShardSize), sc.K, float64(sc.N())/float64(sc.K))
			} else {
				cmd.Printf("replicated: %d full copies\n", deal.Replicas)
			}
			cmd.Printf("proof window %d (closes at %d)\n", w.Window.Number, w.Window.CloseHeight)
			cmd.Printf("%-5s %-5s %-46s %-10s %-12s %-12s %-6s %s\n", "SLOT", "SHARD", "PROVIDER", "STATUS", "PAID", "PAID UNTIL", "MISSED", "COLLATERAL")
			for _, r := range d.Replicas {
				status := client.ShortStatus(r.Status.String())
				if r.Leaving {
					status += " (leaving)"
				}
				collateral := "-"
				if !r.Collateral.IsNil() && r.Collateral.IsPositive() {
					collateral = r.Collateral.String() + app.BondDenom
				}
				cmd.Printf("%-5d %-5d %-46s %-10s %-12s %-12d %-6d %s\n", r.Slot, r.Shard, orDash(r.Provider), status, r.Paid.String()+app.BondDenom, r.PaidUntil, r.Missed, collateral)
			}
			return nil
		},
	}
	flags.AddQueryFlagsToCmd(cmd)
	return cmd
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// trimDec drops a decimal's trailing zeros ("1000.000000000000000000" -> "1000").
func trimDec(s string) string {
	if !strings.Contains(s, ".") {
		return s
	}
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
}
