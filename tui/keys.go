package tui

import "github.com/charmbracelet/bubbles/key"

// keyMap is every key the console answers to. The help bar and the `?`
// screen are generated from it, so a key cannot exist without being shown.
type keyMap struct {
	Up, Down, Left, Right key.Binding
	PageUp, PageDown      key.Binding
	Home, End             key.Binding
	NextPane, PrevPane    key.Binding
	PrevLot, NextLot      key.Binding

	Enter    key.Binding // connect a queued call / retrieve a slot to my phone
	Park     key.Binding
	Retrieve key.Binding
	Move     key.Binding
	Hangup   key.Binding
	Policy   key.Binding
	Filter   key.Binding

	Help key.Binding
	Quit key.Binding
	Esc  key.Binding
}

func newKeyMap() keyMap {
	return keyMap{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		Left:     key.NewBinding(key.WithKeys("left", "h"), key.WithHelp("←/h", "left")),
		Right:    key.NewBinding(key.WithKeys("right", "l"), key.WithHelp("→/l", "right")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+u"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+d"), key.WithHelp("pgdn", "page down")),
		Home:     key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g/home", "first")),
		End:      key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G/end", "last")),
		NextPane: key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next pane")),
		PrevPane: key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous pane")),
		PrevLot:  key.NewBinding(key.WithKeys("["), key.WithHelp("[", "previous lot")),
		NextLot:  key.NewBinding(key.WithKeys("]"), key.WithHelp("]", "next lot")),

		Enter:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "to my phone")),
		Park:     key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "park")),
		Retrieve: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "retrieve to…")),
		Move:     key.NewBinding(key.WithKeys("m"), key.WithHelp("m", "move")),
		Hangup:   key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "hang up")),
		Policy:   key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "recall policy")),
		Filter:   key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),

		Help: key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit: key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		Esc:  key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
	}
}

// helpKeys is what the help bar shows for the current selection: the
// keys that do something right now first, so a receptionist reads the
// bar as "what can I do with this call".
type helpKeys struct {
	short []key.Binding
	full  [][]key.Binding
}

func (h helpKeys) ShortHelp() []key.Binding  { return h.short }
func (h helpKeys) FullHelp() [][]key.Binding { return h.full }

// fullHelp groups every binding for the `?` screen, with the arrows and
// their letters on one line each so the whole screen fits 80×24.
func (k keyMap) fullHelp() [][]key.Binding {
	show := func(keys, desc string) key.Binding { return key.NewBinding(key.WithHelp(keys, desc)) }
	return [][]key.Binding{
		{show("↑↓←→ hjkl", "move"), show("pgup pgdn", "page"), show("g G", "first, last")},
		{show("tab shift+tab", "next, previous pane"), show("[ ]", "previous, next lot"), k.Filter},
		{k.Enter, k.Park, k.Retrieve, k.Move, k.Hangup, k.Policy},
		{k.Help, k.Esc, k.Quit},
	}
}
