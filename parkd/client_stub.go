package parkd

import "context"

// Temporary: the domain operations land in the next commit.

func (s *Server) Status(ctx context.Context) (Status, error) {
	return Status{}, errorf(CodeUnavailable, "todo")
}
func (s *Server) Lots(ctx context.Context) ([]LotView, error) {
	return nil, errorf(CodeUnavailable, "todo")
}
func (s *Server) Slots(ctx context.Context, f SlotFilter) ([]SlotView, error) {
	return nil, errorf(CodeUnavailable, "todo")
}
func (s *Server) Calls(ctx context.Context, f CallFilter) ([]CallView, error) {
	return nil, errorf(CodeUnavailable, "todo")
}
func (s *Server) Call(ctx context.Context, id string) (CallView, error) {
	return CallView{}, errorf(CodeUnavailable, "todo")
}
func (s *Server) Park(ctx context.Context, id string, req ParkRequest) (CallView, error) {
	return CallView{}, errorf(CodeUnavailable, "todo")
}
func (s *Server) Retrieve(ctx context.Context, slot string, req RetrieveRequest) (SlotView, error) {
	return SlotView{}, errorf(CodeUnavailable, "todo")
}
func (s *Server) Move(ctx context.Context, slot, to string) (SlotView, error) {
	return SlotView{}, errorf(CodeUnavailable, "todo")
}
func (s *Server) Transfer(ctx context.Context, id, to string) (CallView, error) {
	return CallView{}, errorf(CodeUnavailable, "todo")
}
func (s *Server) Hangup(ctx context.Context, id string) (CallView, error) {
	return CallView{}, errorf(CodeUnavailable, "todo")
}
func (s *Server) Policy(ctx context.Context, scope string) (PolicyView, error) {
	return PolicyView{}, errorf(CodeUnavailable, "todo")
}
func (s *Server) PatchPolicy(ctx context.Context, scope string, patch PolicyPatch) (PolicyView, error) {
	return PolicyView{}, errorf(CodeUnavailable, "todo")
}
func (s *Server) ClearPolicy(ctx context.Context, scope string) (PolicyView, error) {
	return PolicyView{}, errorf(CodeUnavailable, "todo")
}
func (s *Server) Subscribe(ctx context.Context, after uint64) (<-chan Event, error) {
	return nil, errorf(CodeUnavailable, "todo")
}
func (s *Server) History(ctx context.Context, f HistoryFilter) (HistoryPage, error) {
	return HistoryPage{}, errorf(CodeUnavailable, "todo")
}

var _ Client = (*Server)(nil)
