package cmd

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	sdkmath "cosmossdk.io/math"

	sdkclient "github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/cosmos/cosmos-sdk/client/tx"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/app"
	"github.com/stratusnet/stratus/client"
	"github.com/stratusnet/stratus/merkle"
	"github.com/stratusnet/stratus/providerapi"
	storagetypes "github.com/stratusnet/stratus/x/storage/types"
)

func storageCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "storage",
		Short: "Store files with providers and get them back (encrypted, verified)",
		RunE:  sdkclient.ValidateCmd,
	}
	cmd.AddCommand(putCmd(), getCmd(), lsCmd(), dealStatusCmd(), auditCmd())
	return cmd
}

func putCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "put [file]",
		Short: "Encrypt a file, create a storage deal for it, upload it and wait until every replica is committed",
		Long: `Encrypts FILE with your storage key (created in the client home on first
use: back it up, files cannot be read without it), hashes the ciphertext,
creates a deal paying up to --max-price per GiB per block for each replica,
uploads the ciphertext once to the first assigned provider and waits until
every replica has fetched, verified and committed it. Prints the deal id.`,
		Example: "stratusd storage put photo.jpg --replicas 3 --duration 100000 --max-price 1000ustrat --from alice",
		Args:    cobra.ExactArgs(1),
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
			duration, _ := f.GetUint64("duration")
			priceS, _ := f.GetString("max-price")
			maxPrice, err := sdk.ParseDecCoin(priceS)
			if err != nil {
				return fmt.Errorf("--max-price %q: %w", priceS, err)
			}
			timeout, _ := f.GetDuration("wait-timeout")
			public, _ := f.GetBool("public")
			id, err := put(cmd, cctx, simulatedGas(cmd, txf), args[0], putOptions{
				replicas: replicas, duration: duration, maxPrice: maxPrice, timeout: timeout, public: public,
			})
			if err != nil {
				return err
			}
			cmd.Println(id)
			return nil
		},
	}
	flags.AddTxFlagsToCmd(cmd)
	cmd.Flags().Uint32("replicas", 3, "copies kept by distinct providers")
	cmd.Flags().Uint64("duration", 100_000, "blocks to keep the file")
	cmd.Flags().String("max-price", "1000"+app.BondDenom, "most you pay per replica per GiB per block")
	cmd.Flags().Duration("wait-timeout", 5*time.Minute, "how long to wait for every replica to commit")
	cmd.Flags().Bool("public", false, "store the file as it is, unencrypted: anyone can read it (compute jobs read inputs as stored)")
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

type putOptions struct {
	replicas uint32
	duration uint64
	maxPrice sdk.DecCoin
	timeout  time.Duration
	// public stores the bytes as they are, unencrypted.
	public bool
}

// put stores the file at path as a deal and waits until every replica is
// committed; it returns the deal id.
func put(cmd *cobra.Command, cctx sdkclient.Context, txf tx.Factory, path string, o putOptions) (uint64, error) {
	ctx := cmd.Context()
	out := newProgress(cmd.ErrOrStderr())
	in, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return 0, err
	}
	params, err := storagetypes.NewQueryClient(cctx).Params(ctx, &storagetypes.QueryParamsRequest{})
	if err != nil {
		return 0, fmt.Errorf("reading storage params: %w", err)
	}
	var sealed client.Sealed
	if o.public {
		out.Linef("hashing %s (%s); it is stored unencrypted", path, humanBytes(uint64(st.Size())))
		if sealed, err = client.HashFile(out.Reader(in, uint64(st.Size()), "hash"), path, int(params.Params.ChunkSize)); err != nil {
			return 0, err
		}
	} else {
		id, created, err := client.LoadOrCreateIdentity(cctx.HomeDir)
		if err != nil {
			return 0, err
		}
		if created {
			out.Linef("created your storage key in %s — back it up: without it your files cannot be decrypted", filepath.Join(cctx.HomeDir, client.KeyFile))
		}
		out.Linef("encrypting and hashing %s (%s)", path, humanBytes(uint64(st.Size())))
		sealed, err = client.Seal(out.Reader(in, uint64(st.Size()), "encrypt"), id.Recipient(), int(params.Params.ChunkSize), "")
		if err != nil {
			return 0, err
		}
		defer sealed.Remove()
	}
	if sealed.Size == 0 {
		return 0, errors.New("the file is empty: there is nothing to store")
	}

	res, err := client.NewTxSender(cctx, txf).Send(ctx, &storagetypes.MsgCreateDeal{
		Owner: cctx.FromAddress.String(), Root: sealed.Root[:], Size_: sealed.Size,
		Replicas: o.replicas, DurationBlocks: o.duration, MaxPrice: o.maxPrice, Public: o.public,
	})
	if err != nil {
		return 0, fmt.Errorf("creating the deal: %w", err)
	}
	var deal storagetypes.MsgCreateDealResponse
	if err := decodeMsgResponse(cctx, res, &deal); err != nil {
		return 0, err
	}
	out.Linef("deal %d created: escrow %s (unearned escrow comes back), fee %s (not refundable), providers %s",
		deal.DealId, deal.Escrow, deal.Fee, strings.Join(deal.Providers, ", "))

	first, err := providerTarget(ctx, cctx, deal.Providers[0])
	if err != nil {
		return 0, err
	}
	// Only the deal's owner may upload: the --from key signs.
	api := providerapi.NewClient(nil, providerapi.KeyringSigner{Keyring: cctx.Keyring, Name: cctx.FromName})
	f, err := os.Open(sealed.Path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if err := api.Upload(ctx, first, deal.DealId, out.Reader(f, sealed.Size, "upload"), sealed.Size); err != nil {
		return 0, fmt.Errorf("uploading to %s (%s): %w", first.Provider, first.URL, err)
	}
	out.Linef("uploaded %s to %s", humanBytes(sealed.Size), first.URL)
	uploaded := map[string]bool{deal.Providers[0]: true}

	deadline := time.Now().Add(o.timeout)
	q := storagetypes.NewQueryClient(cctx)
	last := -1
	for {
		d, err := q.Deal(ctx, &storagetypes.QueryDealRequest{DealId: deal.DealId})
		if err != nil {
			return 0, err
		}
		committed := 0
		for _, r := range d.Replicas {
			if r.Status == storagetypes.ReplicaStatus_REPLICA_STATUS_COMMITTED {
				committed++
			}
		}
		if committed != last {
			out.Linef("replicas committed: %d of %d", committed, d.Deal.Replicas)
			last = committed
		}
		if committed == int(d.Deal.Replicas) {
			break
		}
		// If the provider we uploaded to missed its commit deadline before
		// anyone else copied the file, its replacement has nothing to fetch
		// from (an empty source): upload to it as well.
		if committed == 0 {
			for _, r := range d.Replicas {
				if r.Status != storagetypes.ReplicaStatus_REPLICA_STATUS_ASSIGNED || r.Source != "" || uploaded[r.Provider] {
					continue
				}
				t, err := providerTarget(ctx, cctx, r.Provider)
				if err != nil {
					return 0, err
				}
				if _, err := f.Seek(0, io.SeekStart); err != nil {
					return 0, err
				}
				if err := api.Upload(ctx, t, deal.DealId, f, sealed.Size); err != nil {
					out.Linef("re-upload to %s failed: %v; will retry", t.URL, err)
					continue
				}
				uploaded[r.Provider] = true
				out.Linef("the first provider missed its deadline; uploaded again to %s", t.URL)
			}
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("deal %d: only %d of %d replicas committed after %s; check 'stratusd storage status %d'",
				deal.DealId, committed, d.Deal.Replicas, o.timeout, deal.DealId)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	return deal.DealId, nil
}

func decodeMsgResponse(cctx sdkclient.Context, res *sdk.TxResponse, into interface{ Unmarshal([]byte) error }) error {
	bz, err := hex.DecodeString(res.Data)
	if err != nil {
		return fmt.Errorf("decoding tx data: %w", err)
	}
	var data sdk.TxMsgData
	if err := cctx.Codec.Unmarshal(bz, &data); err != nil {
		return fmt.Errorf("decoding tx data: %w", err)
	}
	if len(data.MsgResponses) == 0 {
		return errors.New("the transaction returned no message response")
	}
	return into.Unmarshal(data.MsgResponses[0].Value)
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
			return get(cmd, cctx, id, outPath)
		},
	}
	// Not AddQueryFlagsToCmd: its -o is the output format, and -o here is the file.
	cmd.Flags().String(flags.FlagNode, "", "<host>:<port> to the CometBFT RPC of a node (default from client.toml)")
	cmd.Flags().StringP("output-file", "o", "", "where to write the decrypted file")
	addSignerFlags(cmd, "a private deal is served only to its owner")
	return cmd
}

func get(cmd *cobra.Command, cctx sdkclient.Context, id uint64, outPath string) error {
	ctx := cmd.Context()
	out := newProgress(cmd.ErrOrStderr())
	d, err := storagetypes.NewQueryClient(cctx).Deal(ctx, &storagetypes.QueryDealRequest{DealId: id})
	if err != nil {
		return err
	}
	root, err := merkle.HashFromBytes(d.Deal.Root)
	if err != nil {
		return err
	}
	api, signer, err := dataClient(cmd, cctx)
	if err != nil {
		return err
	}
	if !d.Deal.Public {
		if err := privateAccess(fmt.Sprintf("deal %d", id), d.Deal.Owner, signer); err != nil {
			return err
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(outPath), ".stratus-download-*")
	if err != nil {
		return err
	}
	tmpPath := tmp.Name()
	tmp.Close()
	defer os.Remove(tmpPath)

	var errs []error
	for _, r := range d.Replicas {
		if r.Status != storagetypes.ReplicaStatus_REPLICA_STATUS_COMMITTED {
			continue
		}
		t, err := providerTarget(ctx, cctx, r.Provider)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := downloadVerified(out, tmpPath, root, d.Deal.Size_, int(d.Deal.ChunkSize), func(w io.Writer) error {
			return api.Download(ctx, t, id, w)
		}); err != nil {
			out.Linef("provider %s failed: %v; trying the next", t.URL, err)
			errs = append(errs, fmt.Errorf("%s: %w", t.URL, err))
			continue
		}
		sealed, err := client.IsSealed(tmpPath)
		if err != nil {
			return err
		}
		if !sealed {
			// Stored with --public: the verified bytes are the file.
			if err := os.Rename(tmpPath, outPath); err != nil {
				return err
			}
			out.Linef("verified against the deal's root into %s (stored unencrypted)", outPath)
			return nil
		}
		key, err := client.LoadIdentity(cctx.HomeDir)
		if err != nil {
			return err
		}
		if err := client.Unseal(tmpPath, outPath, key); err != nil {
			return err
		}
		out.Linef("verified against the deal's root and decrypted into %s", outPath)
		return nil
	}
	if len(errs) == 0 {
		return fmt.Errorf("deal %d has no committed replica to download from", id)
	}
	return fmt.Errorf("no provider served deal %d intact: %w", id, errors.Join(errs...))
}

// downloadVerified streams what fetch writes into path (a temp file, never
// the output name), showing progress and hashing it on the way, and checks
// it is exactly the size bytes named by root.
func downloadVerified(out *progress, path string, root merkle.Hash, size uint64, chunkSize int, fetch func(w io.Writer) error) error {
	verifier, err := client.NewVerifier(root, size, chunkSize)
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := fetch(out.Writer(io.MultiWriter(f, verifier), size, "download")); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return verifier.Check()
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
			res, err := storagetypes.NewQueryClient(cctx).DealsByOwner(cmd.Context(), &storagetypes.QueryDealsByOwnerRequest{Owner: owner})
			if err != nil {
				return err
			}
			if cctx.OutputFormat == flags.OutputFormatJSON {
				return cctx.PrintProto(res)
			}
			if len(res.Deals) == 0 {
				cmd.Printf("%s has no deals\n", owner)
				return nil
			}
			cmd.Printf("%-6s %-10s %-10s %-9s %-10s %s\n", "DEAL", "STATUS", "SIZE", "REPLICAS", "ENDS", "ESCROW")
			for _, d := range res.Deals {
				cmd.Printf("%-6d %-10s %-10s %-9d %-10d %s\n", d.Id, shortStatus(d.Status.String()), humanBytes(d.Size_), d.Replicas, d.EndHeight, d.Escrow)
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
		Short: "Show a deal: its replicas, their payments and missed proofs, and the escrow left",
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
			cmd.Printf("deal %d  %s  owner %s\n", deal.Id, shortStatus(deal.Status.String()), deal.Owner)
			cmd.Printf("size %s (%d bytes), root %x\n", humanBytes(deal.Size_), deal.Size_, deal.Root)
			cmd.Printf("created at %d, ends at %d; escrow left %s; max price %s%s per GiB per block\n", deal.CreatedHeight, deal.EndHeight, deal.Escrow, trimDec(deal.MaxPrice.Amount.String()), deal.MaxPrice.Denom)
			cmd.Printf("proof window %d (closes at %d)\n", w.Window.Number, w.Window.CloseHeight)
			cmd.Printf("%-5s %-46s %-10s %-12s %-12s %-6s %s\n", "SLOT", "PROVIDER", "STATUS", "PAID", "PAID UNTIL", "MISSED", "COLLATERAL")
			for _, r := range d.Replicas {
				status := shortStatus(r.Status.String())
				if r.Leaving {
					status += " (leaving)"
				}
				collateral := "-"
				if !r.Collateral.IsNil() && r.Collateral.IsPositive() {
					collateral = r.Collateral.String() + app.BondDenom
				}
				cmd.Printf("%-5d %-46s %-10s %-12s %-12d %-6d %s\n", r.Slot, orDash(r.Provider), status, r.Paid.String()+app.BondDenom, r.PaidUntil, r.Missed, collateral)
			}
			return nil
		},
	}
	flags.AddQueryFlagsToCmd(cmd)
	return cmd
}

// shortStatus turns an enum name such as DEAL_STATUS_ACTIVE into "active".
func shortStatus(s string) string {
	for _, p := range []string{"DEAL_STATUS_", "REPLICA_STATUS_", "JOB_STATUS_", "EXECUTOR_STATUS_"} {
		s = strings.TrimPrefix(s, p)
	}
	return strings.ToLower(s)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func humanBytes(n uint64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	v := sdkmath.LegacyNewDec(int64(n))
	i := 0
	for i < len(units)-1 && v.GTE(sdkmath.LegacyNewDec(1024)) {
		v = v.QuoInt64(1024)
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d B", n)
	}
	f, _ := v.Float64()
	return fmt.Sprintf("%.1f %s", f, units[i])
}

// trimDec drops a decimal's trailing zeros ("1000.000000000000000000" -> "1000").
func trimDec(s string) string {
	if !strings.Contains(s, ".") {
		return s
	}
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
}
