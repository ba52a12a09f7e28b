package node

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The display name. It is the user's to choose, from the web UI as well as
// with --name, so it is kept in the data folder (NameFile) and used at the
// next start.
//
// Precedence: an explicit Config.Name (the --name flag, or PEERCHAT_NAME)
// wins at start, since whoever starts the node that way asks for that name
// for that run; the saved name is used when no name is given; the host
// name when neither is. SetName applies at once in either case and is
// saved, so it lasts over restarts that pass no --name. NameFromConfig
// tells a client which case it is in, so the UI can say that --name will
// win again at the next start.

// NameFile is the file in the data folder that keeps the name SetName set.
const NameFile = "display-name"

// MaxNameLen is the longest display name SetName takes, in characters.
const MaxNameLen = 64

// ValidateName checks a display name: 1 to MaxNameLen characters of valid
// UTF-8, none of them a control character (a line break would break every
// line a name is shown in; a bidi control is a format character and is
// refused too, though pages isolate names anyway), and not only spaces.
func ValidateName(name string) error {
	if !utf8.ValidString(name) {
		return Errorf(CodeInvalid, "the name is not valid UTF-8")
	}
	if strings.TrimSpace(name) == "" {
		return Errorf(CodeInvalid, "the name is empty: give 1 to %d characters", MaxNameLen)
	}
	if n := utf8.RuneCountInString(name); n > MaxNameLen {
		return Errorf(CodeInvalid, "the name is %d characters; the limit is %d", n, MaxNameLen)
	}
	for i, r := range name {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return Errorf(CodeInvalid, "the name has a control character (U+%04X) at byte %d: names are one line of visible text", r, i)
		}
	}
	return nil
}

// SetName changes the display name sent with messages, presence and typing
// from now on, saves it in the data folder for the next start, and
// announces it at once in every joined room. The name is saved before it
// is used: a name that cannot be kept is not shown either.
func (n *Node) SetName(ctx context.Context, name string) error {
	name = strings.TrimSpace(name)
	if err := ValidateName(name); err != nil {
		return err
	}
	if err := WriteFileAtomic(filepath.Join(n.cfg.DataDir, NameFile), []byte(name+"\n"), 0o600); err != nil {
		return Errorf(CodeUnavailable, "save the name: %w", err)
	}
	n.sender.SetName(name)
	n.signals.SetName(ctx, name)
	return nil
}

// NameFromConfig reports whether the name was given in Config.Name (the
// --name flag), which wins over the saved one at every start.
func (n *Node) NameFromConfig() bool { return n.cfg.Name != "" }

// savedName reads the name SetName saved in dir, or "" when there is none.
// A file that holds no valid name (edited by hand, say) is ignored with a
// warning rather than stopping the node: the name is cosmetic.
func savedName(dir string) (string, error) {
	data, err := os.ReadFile(filepath.Join(dir, NameFile))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the saved name: %w", err)
	}
	name := strings.TrimSpace(string(data))
	if err := ValidateName(name); err != nil {
		return "", fmt.Errorf("the saved name in %s: %w", NameFile, err)
	}
	return name, nil
}
